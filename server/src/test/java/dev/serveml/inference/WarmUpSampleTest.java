package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WarmUpSampleTest {
    private static final Signature IRIS = new Signature(List.of(TensorSpec.tensor("X", DataType.FP32, List.of(-1L, 4L))),
            List.of(TensorSpec.tensor("label", DataType.INT64, List.of(-1L))));

    private static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    @Test
    void aSampleIsBoundOncePerSignatureAndEveryLaterLoadReusesTheInputs() throws Exception {
        WarmUp.Sample sample = WarmUp.Sample.of(json("{\"features\": [5.1, 3.5, 1.4, 0.2]}"));
        List<Tensor> first = sample.bind(IRIS);
        assertThat(first).hasSize(1);
        assertThat(first.get(0).shape()).containsExactly(1, 4);
        // An equal signature read again (another copy of the version's record) finds the bound inputs.
        Signature again = new Signature(List.copyOf(IRIS.inputs()), List.copyOf(IRIS.outputs()));
        assertThat(sample.bind(again)).isSameAs(first);
    }

    @Test
    void aSampleThatDoesNotFitTheSignatureIsRefusedAsAPredictCallWouldBeEveryTime() throws Exception {
        WarmUp.Sample sample = WarmUp.Sample.of(json("{\"features\": [5.1, 3.5, 1.4]}"));
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> sample.bind(IRIS)).isInstanceOfSatisfying(ProblemException.class,
                    p -> assertThat(p.type()).isEqualTo(ProblemType.SHAPE_MISMATCH));
        }
    }

    @Test
    void aBodyThatIsNotAPredictBodyIsRefusedWhenTheSampleIsMade() {
        assertThatThrownBy(() -> WarmUp.Sample.of(json("{\"rows\": [1]}"))).isInstanceOfSatisfying(
                ProblemException.class, p -> assertThat(p.type()).isEqualTo(ProblemType.INVALID_REQUEST));
    }

    @Test
    void samplesWithEqualBodiesAreEqualSoTheSameSettingsDoNotReloadAVersion() throws Exception {
        JsonNode body = json("{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        assertThat(WarmUp.Sample.of(body)).isEqualTo(WarmUp.Sample.of(body.deepCopy()))
                .hasSameHashCodeAs(WarmUp.Sample.of(body.deepCopy()));
        assertThat(WarmUp.Sample.of(body).body()).isEqualTo(body);
    }
}
