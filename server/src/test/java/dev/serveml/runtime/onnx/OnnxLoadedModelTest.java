package dev.serveml.runtime.onnx;

import dev.serveml.config.RuntimeConfig;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Resources;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Calls on one thread reuse its direct memory for their inputs: no call sees another's. */
class OnnxLoadedModelTest {
    @TempDir
    Path dir;
    private OnnxModelRuntime runtime;

    @BeforeEach
    void start() {
        runtime = new OnnxModelRuntime(new RuntimeConfig(1, 1, 1000, 16), dir.resolve("run"), 1 << 20);
    }

    @AfterEach
    void stop() {
        runtime.close();
    }

    @Test
    void twoInputsOfOneCallEachKeepTheirOwnValuesCallAfterCall() throws IOException {
        try (LoadedModel add = load("add_fixed.onnx")) {
            for (int call = 0; call < 3; call++) {
                float[] a = {call, 1, 2, 3, 4, 5};
                float[] b = {10, 20, 30, 40, 50, 60 + call};
                Map<String, Output> answer = add.infer(List.of(Tensor.ofFloats("a", new long[]{2, 3}, a),
                        Tensor.ofFloats("b", new long[]{2, 3}, b)), Set.of());

                assertThat(floats(answer.get("sum"))).containsExactly(10 + call, 21, 32, 43, 54, 65 + call);
            }
        }
    }

    @Test
    void aCallWithFewerRowsThanTheOneBeforeItAnswersForItsOwnRowsOnly() throws IOException {
        try (LoadedModel iris = load("iris_rf.onnx")) {
            float[] setosa = {5.1f, 3.5f, 1.4f, 0.2f};
            float[] virginica = {6.9f, 3.1f, 5.4f, 2.1f};
            String input = iris.signature().inputs().get(0).name();
            long[] alone = labels(iris.infer(List.of(Tensor.ofFloats(input, new long[]{1, 4}, virginica)), Set.of()));

            iris.infer(List.of(Tensor.ofFloats(input, new long[]{3, 4}, concat(setosa, setosa, setosa))), Set.of());
            long[] after = labels(iris.infer(List.of(Tensor.ofFloats(input, new long[]{1, 4}, virginica)), Set.of()));

            assertThat(after).containsExactly(alone);
            assertThat(alone).containsExactly(2);
        }
    }

    private LoadedModel load(String fixture) throws IOException {
        Path file = dir.resolve(fixture);
        try (InputStream in = OnnxLoadedModelTest.class.getResourceAsStream("/fixtures/" + fixture)) {
            Files.copy(in, file);
        }
        return runtime.load(new LoadRequest(file, "onnx", fixture, "m", "m v1", Optional.empty(), Resources.DEFAULT));
    }

    private static float[] floats(Output output) {
        FloatBuffer values = ((Tensor) output).data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[values.remaining()];
        values.get(out);
        return out;
    }

    private static long[] labels(Map<String, Output> answer) {
        Tensor label = (Tensor) answer.get("label");
        long[] out = new long[(int) label.elementCount()];
        label.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
        return out;
    }

    private static float[] concat(float[]... rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[i].length, rows[i].length);
        }
        return out;
    }
}
