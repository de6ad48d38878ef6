package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
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
 * Text ranking with a cross-encoder (a sequence classifier with one label): each (query, text)
 * pair is encoded together and scored by its one logit, through a sigmoid unless
 * {@code raw_scores} (text-embeddings-inference's {@code /rerank} parameter).
 *
 * <p>Signature: {@code text} (the query) and {@code text_pair} (the passage) BYTES [-1] in, one row
 * per pair, as Hugging Face names a pair; {@code score} FP32 [-1] out. The native route takes TEI's
 * {@code {"query": q, "texts": [...]}} as well and answers TEI's {@code [{"index", "score"}]}, best first.
 */
final class CrossEncoderRanker implements TextTask {
    static final String TEXT = "text";
    static final String TEXT_PAIR = "text_pair";
    static final String SCORE = "score";
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L)),
                    TensorSpec.tensor(TEXT_PAIR, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(SCORE, DataType.FP32, List.of(-1L))));
    private static final Map<String, String> PARAMETERS = Map.of(
            "raw_scores", "true for the model's logit, false (the default) for its sigmoid",
            "truncation", "true (the default) or false to refuse a pair longer than the model's maximum");

    private final TextEncoder encoder;

    CrossEncoderRanker(TextEncoder encoder) {
        this.encoder = encoder;
        TextClassifier.requireLogitsPerLabel(encoder, "text-ranking");
        if (encoder.config().labels().size() != 1) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "text-ranking needs a cross-encoder with one "
                    + "score per pair; config.json names " + encoder.config().labels().size() + " labels");
        }
    }

    @Override
    public String name() {
        return "text-ranking";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return List.of();
    }

    private record Call(boolean raw, boolean truncation) {
    }

    private static Call call(Parameters parameters) {
        TaskParameters p = new TaskParameters("text-ranking", PARAMETERS, parameters);
        return new Call(p.bool("raw_scores", false), p.bool("truncation", true));
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        Call call = call(parameters);
        TextColumn queries = TextColumn.read(inputs, TEXT, true).requireTexts();
        TextColumn texts = TextColumn.read(inputs, TEXT_PAIR, true).requireTexts();
        queries.requireSameRows(texts);
        if (!call.truncation()) {
            encoder.requireWithinLength(encoder.encodePairs(queries.values(), texts.values()), texts::pointer);
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        Call call = call(parameters);
        TextColumn queries = TextColumn.read(inputs, TEXT, true);
        TextColumn texts = TextColumn.read(inputs, TEXT_PAIR, true);
        queries.requireSameRows(texts);
        Encoding[] pairs = encoder.encodePairs(queries.values(), texts.values());
        float[] logits = TextClassifier.logits(encoder, pairs);
        float[] scores = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            scores[i] = call.raw() ? logits[i] : (float) (1.0 / (1.0 + Math.exp(-logits[i])));
        }
        return Map.of(SCORE, Tensor.ofFloats(SCORE, new long[]{scores.length}, scores));
    }

    @Override
    public void close() {
        encoder.close();
    }
}
