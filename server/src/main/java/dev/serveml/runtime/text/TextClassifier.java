package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's text-classification pipeline over a Hub repository: the repository's own
 * tokenizer.json, its ONNX export and its config.json labels.
 *
 * <p>Signature: {@code text} BYTES [-1] in; {@code label} BYTES [-1, k] and {@code score} FP32
 * [-1, k] out, rather than one list of {@code {"label", "score"}} per row: plain typed tensors (see
 * {@link TextTask}). k is the same for every row of a call ({@code top_k}, at most the number of
 * labels), and calls with different parameters are never stacked.
 *
 * <p>Thread-safe: {@code OrtSession.run} and the Rust tokenizer may be called concurrently.
 */
public final class TextClassifier implements TextTask {
    static final String TEXT = "text";
    static final String LABEL = "label";
    static final String SCORE = "score";
    static final String LOGITS = "logits";
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(LABEL, DataType.BYTES, List.of(-1L, -1L)),
                    TensorSpec.tensor(SCORE, DataType.FP32, List.of(-1L, -1L))));
    private static final Map<String, String> PARAMETERS = Map.of(
            "top_k", "a whole number, 1 or more: how many labels per text, best first",
            "function_to_apply", "softmax, sigmoid or none",
            "truncation", "true (the default) or false to refuse a text longer than the model's maximum");

    /** What turns logits into scores: Hugging Face's {@code function_to_apply}. */
    public enum Scoring { SOFTMAX, SIGMOID, NONE }

    /**
     * One call's parameters, as Hugging Face names them.
     *
     * @param topK       how many labels to return per text, best first; 0 for all of them
     * @param scoring    null for the model's own: sigmoid for multi-label or a single label, none for
     *                   regression, else softmax
     * @param truncation false to refuse a text longer than the model's maximum instead of cutting it
     */
    public record Parameters(int topK, Scoring scoring, boolean truncation) {
        public static final Parameters DEFAULT = new Parameters(1, null, true);

        public Parameters {
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be 0 (all) or more");
            }
        }
    }

    private final TextEncoder encoder;
    private final HfModelConfig config;

    TextClassifier(TextEncoder encoder) {
        this.encoder = encoder;
        this.config = encoder.config();
        requireLogitsPerLabel(encoder, "text-classification");
        if (config.labels().isEmpty()) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "config.json names no labels (id2label or num_labels)");
        }
    }

    /**
     * Refuses a graph without a {@code logits} output of one score per label per text: a
     * token-classification export ([batch, tokens, labels]) cannot answer a sequence task.
     */
    static void requireLogitsPerLabel(TextEncoder encoder, String task) {
        long[] shape = encoder.outputShape(LOGITS).orElseThrow(() -> new ProblemException(ProblemType.INVALID_MODEL,
                "a " + task + " export answers logits (export it with optimum-cli export onnx --task "
                        + "text-classification)"));
        int labels = encoder.config().labels().size();
        if (shape.length != 2 || (shape[1] > 0 && labels > 0 && shape[1] != labels)) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the ONNX export's logits have shape "
                    + java.util.Arrays.toString(shape) + ", not [batch, " + labels + "] (one score per label of "
                    + "config.json), so it cannot serve " + task);
        }
    }

    /**
     * Opens the repository in {@code repo} (config.json, tokenizer.json) with the ONNX file
     * {@code model} (which file is the Hub client's choice, by variant).
     */
    public static TextClassifier open(OrtEnvironment environment, Path repo, Path model,
                                      OrtSession.SessionOptions options) {
        TextEncoder encoder = TextEncoder.open(environment, repo, model, options, true);
        try {
            return new TextClassifier(encoder);
        } catch (RuntimeException e) {
            encoder.close();
            throw e;
        }
    }

    public HfModelConfig config() {
        return config;
    }

    @Override
    public String name() {
        return "text-classification";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return config.labels();
    }

    /** Classifies each text; per text, its labels with scores, best first. */
    public List<List<ScoredLabel>> classify(List<String> texts, Parameters parameters) {
        if (texts.isEmpty()) {
            return List.of();
        }
        TextEncoder.Batch batch;
        if (parameters.truncation()) {
            batch = encoder.batch(texts);
        } else {
            Encoding[] encodings = encoder.encode(texts);
            encoder.requireWithinLength(encodings, i -> "/inputs/" + i);
            batch = TextEncoder.Batch.of(encodings);
        }
        float[] logits = logits(encoder, batch);
        Scoring scoring = parameters.scoring() != null ? parameters.scoring() : defaultScoring();
        int labels = config.labels().size();
        List<List<ScoredLabel>> answers = new ArrayList<>(texts.size());
        for (int row = 0; row < batch.rows(); row++) {
            double[] scores = score(logits, row * labels, labels, scoring);
            List<ScoredLabel> answer = new ArrayList<>(labels);
            for (int j = 0; j < labels; j++) {
                answer.add(new ScoredLabel(config.labels().get(j), scores[j]));
            }
            answer.sort(Comparator.comparingDouble(ScoredLabel::score).reversed());
            answers.add(parameters.topK() == 0 || parameters.topK() >= labels
                    ? List.copyOf(answer) : List.copyOf(answer.subList(0, parameters.topK())));
        }
        return answers;
    }

    /** The logits of each encoding, one row of {@code labels} per encoding. */
    static float[] logits(TextEncoder encoder, Encoding[] encodings) {
        return logits(encoder, TextEncoder.Batch.of(encodings));
    }

    static float[] logits(TextEncoder encoder, TextEncoder.Batch batch) {
        TextEncoder.Floats out = encoder.run(batch, Set.of(LOGITS)).get(LOGITS);
        int labels = encoder.config().labels().size();
        if (out.shape().length != 2 || out.shape()[1] != labels) {
            throw new ProblemException(ProblemType.MODEL_ERROR, "the model's logits do not have one score per "
                    + "label of config.json (" + labels + ")");
        }
        return out.values();
    }

    @Override
    public void check(List<dev.serveml.tensor.Tensor> inputs, dev.serveml.runtime.Parameters parameters) {
        Parameters p = parameters(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).requireTexts().values();
        if (!p.truncation()) {
            encoder.requireWithinLength(texts);
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs,
                                     dev.serveml.runtime.Parameters parameters) {
        List<String> texts = TextColumn.read(inputs, TEXT, false).values();
        List<List<ScoredLabel>> answers = classify(texts, parameters(parameters));
        int k = answers.isEmpty() ? 0 : answers.get(0).size();
        List<byte[]> labels = new ArrayList<>(texts.size() * k);
        float[] scores = new float[texts.size() * k];
        for (int row = 0; row < answers.size(); row++) {
            for (int j = 0; j < k; j++) {
                ScoredLabel s = answers.get(row).get(j);
                labels.add(s.label().getBytes(StandardCharsets.UTF_8));
                scores[row * k + j] = (float) s.score();
            }
        }
        long[] shape = {texts.size(), k};
        Map<String, Output> answer = new LinkedHashMap<>();
        if (outputs.isEmpty() || outputs.contains(LABEL)) {
            answer.put(LABEL, Tensor.ofBytes(LABEL, shape, labels));
        }
        if (outputs.isEmpty() || outputs.contains(SCORE)) {
            answer.put(SCORE, Tensor.ofFloats(SCORE, shape, scores));
        }
        return answer;
    }

    /** Hugging Face's parameters, checked: each wrong or unknown one is a 422 naming it. */
    private static Parameters parameters(dev.serveml.runtime.Parameters parameters) {
        TaskParameters p = new TaskParameters("text-classification", PARAMETERS, parameters);
        int topK = p.integer("top_k", 1, Integer.MAX_VALUE, Parameters.DEFAULT.topK());
        Scoring scoring = null;
        if (p.has("function_to_apply")) {
            scoring = Scoring.valueOf(p.choice("function_to_apply", List.of("softmax", "sigmoid", "none"), null)
                    .toUpperCase(Locale.ROOT));
        }
        return new Parameters(topK, scoring, p.bool("truncation", true));
    }

    private Scoring defaultScoring() {
        if ("multi_label_classification".equals(config.problemType()) || config.labels().size() == 1) {
            return Scoring.SIGMOID;
        }
        return "regression".equals(config.problemType()) ? Scoring.NONE : Scoring.SOFTMAX;
    }

    static double[] score(float[] logits, int offset, int count, Scoring scoring) {
        double[] out = new double[count];
        switch (scoring) {
            case SOFTMAX -> {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < count; j++) {
                    max = Math.max(max, logits[offset + j]);
                }
                double sum = 0;
                for (int j = 0; j < count; j++) {
                    out[j] = Math.exp(logits[offset + j] - max); // shifted: large logits cannot overflow
                    sum += out[j];
                }
                for (int j = 0; j < count; j++) {
                    out[j] /= sum;
                }
            }
            case SIGMOID -> {
                for (int j = 0; j < count; j++) {
                    out[j] = 1.0 / (1.0 + Math.exp(-logits[offset + j]));
                }
            }
            case NONE -> {
                for (int j = 0; j < count; j++) {
                    out[j] = logits[offset + j];
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        encoder.close();
    }
}
