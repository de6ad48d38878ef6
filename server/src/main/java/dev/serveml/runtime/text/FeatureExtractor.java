package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Sentence embeddings from a bare encoder's {@code last_hidden_state}: the mean of the token
 * vectors under the attention mask ({@code pooling: mean}, the default, as sentence-transformers
 * and text-embeddings-inference pool most models) or the first token's ({@code cls}), then scaled
 * to unit length unless {@code normalize: false} (TEI's default, so that a dot product is the cosine).
 *
 * <p>Signature: {@code text} BYTES [-1] in, {@code embedding} FP32 [-1, hidden] out, and
 * {@code prompt_tokens} INT64 [-1]: the tokens each text took (special ones included, after
 * truncation), what OpenAI's {@code usage} counts and text-generation answers under the same name.
 */
final class FeatureExtractor implements TextTask {
    static final String TEXT = "text";
    static final String EMBEDDING = "embedding";
    static final String PROMPT_TOKENS = "prompt_tokens";
    static final String LAST_HIDDEN_STATE = "last_hidden_state";
    private static final Map<String, String> PARAMETERS = Map.of(
            "pooling", "mean (the default) or cls",
            "normalize", "true (the default: unit length) or false",
            "truncation", "true (the default) or false to refuse a text longer than the model's maximum");

    private final TextEncoder encoder;
    private final Signature signature;

    FeatureExtractor(TextEncoder encoder) {
        this.encoder = encoder;
        long[] shape = encoder.outputShape(LAST_HIDDEN_STATE).orElseThrow(() -> new ProblemException(
                ProblemType.INVALID_MODEL, "a feature-extraction export answers last_hidden_state (export it with "
                + "optimum-cli export onnx --task feature-extraction)"));
        if (shape.length != 3) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the ONNX export's last_hidden_state has shape "
                    + java.util.Arrays.toString(shape) + ", not [batch, tokens, hidden]");
        }
        this.signature = new Signature(List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
                List.of(TensorSpec.tensor(EMBEDDING, DataType.FP32, List.of(-1L, shape[2])),
                        TensorSpec.tensor(PROMPT_TOKENS, DataType.INT64, List.of(-1L))));
    }

    @Override
    public String name() {
        return "feature-extraction";
    }

    @Override
    public Signature signature() {
        return signature;
    }

    @Override
    public List<String> labels() {
        return List.of();
    }

    private record Call(boolean cls, boolean normalize, boolean truncation) {
    }

    private static Call call(Parameters parameters) {
        TaskParameters p = new TaskParameters("feature-extraction", PARAMETERS, parameters);
        return new Call(p.choice("pooling", List.of("mean", "cls"), "mean").equals("cls"), p.bool("normalize", true),
                p.bool("truncation", true));
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        Call call = call(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).requireTexts().values();
        if (!call.truncation()) {
            encoder.requireWithinLength(texts);
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        Call call = call(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).values();
        TextEncoder.Batch batch = encoder.batch(texts);
        TextEncoder.Floats hidden = encoder.run(batch, Set.of(LAST_HIDDEN_STATE)).get(LAST_HIDDEN_STATE);
        int length = (int) hidden.shape()[1];
        int size = (int) hidden.shape()[2];
        float[] out = new float[texts.size() * size];
        long[] counts = new long[texts.size()];
        for (int row = 0; row < texts.size(); row++) {
            for (int t = 0; t < batch.length(); t++) {
                counts[row] += batch.mask()[row * batch.length() + t];
            }
            double[] vector = new double[size];
            int tokens = call.cls() ? 1 : 0;
            for (int t = 0; t < (call.cls() ? 1 : length); t++) {
                if (!call.cls() && batch.mask()[row * batch.length() + t] == 0) {
                    continue;
                }
                tokens += call.cls() ? 0 : 1;
                int base = (row * length + t) * size;
                for (int j = 0; j < size; j++) {
                    vector[j] += hidden.values()[base + j];
                }
            }
            double norm = 0;
            for (int j = 0; j < size; j++) {
                vector[j] /= Math.max(tokens, 1);
                norm += vector[j] * vector[j];
            }
            double scale = call.normalize() ? 1 / Math.max(Math.sqrt(norm), 1e-12) : 1;
            for (int j = 0; j < size; j++) {
                out[row * size + j] = (float) (vector[j] * scale);
            }
        }
        Map<String, Output> answer = new java.util.LinkedHashMap<>();
        if (outputs.isEmpty() || outputs.contains(EMBEDDING)) {
            answer.put(EMBEDDING, Tensor.ofFloats(EMBEDDING, new long[]{texts.size(), size}, out));
        }
        if (outputs.isEmpty() || outputs.contains(PROMPT_TOKENS)) {
            java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(counts.length * Long.BYTES)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (long c : counts) {
                data.putLong(c);
            }
            answer.put(PROMPT_TOKENS, Tensor.of(PROMPT_TOKENS, DataType.INT64, new long[]{texts.size()}, data.flip()));
        }
        return answer;
    }

    @Override
    public void close() {
        encoder.close();
    }
}
