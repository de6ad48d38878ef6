package dev.serveml.deployments;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AgreementTest {
    private static Map<String, Output> floats(float... v) {
        return Map.of("p", Tensor.ofFloats("p", new long[]{v.length}, v));
    }

    private static Map<String, Output> labels(long... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return Map.of("label", Tensor.of("label", DataType.INT64, new long[]{v.length}, b));
    }

    @Test
    void floatsWithinAMillionthAgreeAndFartherOnesDoNot() {
        assertThat(Agreement.agree(floats(0.5f, 0.25f), floats(0.5000005f, 0.25f))).isTrue();
        assertThat(Agreement.agree(floats(0.5f, 0.25f), floats(0.5001f, 0.25f))).isFalse();
    }

    @Test
    void labelsMustBeEqualAndShapesMustMatch() {
        assertThat(Agreement.agree(labels(1, 2), labels(1, 2))).isTrue();
        assertThat(Agreement.agree(labels(1, 2), labels(1, 3))).isFalse();
        assertThat(Agreement.agree(labels(1, 2), labels(1, 2, 3))).isFalse();
        assertThat(Agreement.agree(labels(1), floats(1f))).isFalse();
    }

    @Test
    void sequencesOfMapsCompareTheirScores() {
        Map<String, Output> a = Map.of("s", new MapSequence("s", List.of(Map.of("0", 0.9, "1", 0.1))));
        Map<String, Output> b = Map.of("s", new MapSequence("s", List.of(Map.of("0", 0.9, "1", 0.1000000001))));
        Map<String, Output> c = Map.of("s", new MapSequence("s", List.of(Map.of("0", 0.8, "1", 0.2))));
        assertThat(Agreement.agree(a, b)).isTrue();
        assertThat(Agreement.agree(a, c)).isFalse();
    }
}
