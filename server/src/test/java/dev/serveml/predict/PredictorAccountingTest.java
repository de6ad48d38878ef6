package dev.serveml.predict;

import dev.serveml.inference.CacheStatus;
import dev.serveml.inference.InferenceResult;
import dev.serveml.inference.Prediction;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class PredictorAccountingTest {
    private static Tensor longs(String name, long... values) {
        ByteBuffer data = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            data.putLong(v);
        }
        return Tensor.of(name, DataType.INT64, new long[]{values.length}, data.flip());
    }

    private static long[] spent(Map<String, Output> outputs) {
        return Predictor.spent(Prediction.ofModel(new InferenceResult(null, outputs, 0, CacheStatus.MISS)));
    }

    @Test
    void anAnswerCostsItsPromptAndCompletionTokensSummedOverItsRows() {
        Map<String, Output> outputs = new LinkedHashMap<>();
        outputs.put("generated_text", Tensor.ofBytes("generated_text", new long[]{2}, java.util.List.of(
                "a".getBytes(), "b".getBytes())));
        outputs.put("prompt_tokens", longs("prompt_tokens", 5, 7));
        outputs.put("completion_tokens", longs("completion_tokens", 12, 3));
        assertThat(spent(outputs)).containsExactly(12, 15);
    }

    @Test
    void aModelThatAnswersNoTokenCountsCostsNothingAndNoCountIsNegative() {
        assertThat(spent(Map.of("probabilities", Tensor.ofFloats("probabilities", new long[]{2}, 0.5f, 0.5f))))
                .containsExactly(0, 0);
        assertThat(spent(Map.of("prompt_tokens", longs("prompt_tokens", -4, 9)))).containsExactly(9, 0);
        assertThat(spent(Map.of("prompt_tokens", Tensor.ofFloats("prompt_tokens", new long[]{1}, 3f))))
                .as("only INT64 counts").containsExactly(0, 0);
    }
}
