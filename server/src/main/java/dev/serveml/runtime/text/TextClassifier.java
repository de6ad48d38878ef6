package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's text-classification pipeline over a Hub repository: the repository's own
 * tokenizer.json (DJL's binding of the Rust tokenizers), its ONNX export (ONNX Runtime) and its
 * config.json labels. A batch is padded to its longest member; the attention mask keeps the
 * padding out of every answer, so a text scores the same alone or in any batch.
 *
 * <p>Thread-safe: {@code OrtSession.run} and the Rust tokenizer may be called concurrently.
 */
public final class TextClassifier implements AutoCloseable {
    /** Optimum's input names; {@code token_type_ids} only where the export takes it (not DistilBERT's, nor RoBERTa's). */
    private static final String INPUT_IDS = "input_ids";
    private static final String ATTENTION_MASK = "attention_mask";
    private static final String TOKEN_TYPE_IDS = "token_type_ids";
    private static final String LOGITS = "logits";

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

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final HuggingFaceTokenizer tokenizer;
    private final HfModelConfig config;
    private final boolean takesTokenTypes;

    private TextClassifier(OrtEnvironment environment, OrtSession session, HuggingFaceTokenizer tokenizer,
                           HfModelConfig config) throws OrtException {
        this.environment = environment;
        this.session = session;
        this.tokenizer = tokenizer;
        this.config = config;
        this.takesTokenTypes = session.getInputNames().contains(TOKEN_TYPE_IDS);
        if (!session.getInputNames().contains(INPUT_IDS) || !session.getInputNames().contains(ATTENTION_MASK)
                || !session.getOutputNames().contains(LOGITS)) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "a text-classification export takes input_ids and "
                    + "attention_mask and answers logits (export it with optimum-cli export onnx --task "
                    + "text-classification)");
        }
        if (config.labels().isEmpty()) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "config.json names no labels (id2label or num_labels)");
        }
    }

    /**
     * Opens the repository in {@code repo} (config.json, tokenizer.json) with the ONNX file
     * {@code model} (which file is the Hub client's choice, by variant).
     */
    public static TextClassifier open(OrtEnvironment environment, Path repo, Path model,
                                      OrtSession.SessionOptions options) {
        HfModelConfig config = HfModelConfig.read(repo);
        HuggingFaceTokenizer tokenizer = null;
        OrtSession session = null;
        try {
            tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(repo).optAddSpecialTokens(true)
                    .optTruncation(true).optPadding(false).optMaxLength(config.maxLength()).build();
            session = environment.createSession(model.toString(), options);
            return new TextClassifier(environment, session, tokenizer, config);
        } catch (IOException | RuntimeException | OrtException e) {
            if (session != null) {
                closeQuietly(session);
            }
            if (tokenizer != null) {
                tokenizer.close();
            }
            if (e instanceof ProblemException p) {
                throw p;
            }
            // DJL and ONNX Runtime messages name paths on this machine: the client gets neither
            throw new ProblemException(ProblemType.INVALID_MODEL, e instanceof OrtException
                    ? "ONNX Runtime could not load the repository's ONNX file"
                    : "the repository's tokenizer.json could not be read", e);
        }
    }

    public HfModelConfig config() {
        return config;
    }

    /** Classifies each text; per text, its labels with scores, best first. */
    public List<List<ScoredLabel>> classify(List<String> texts, Parameters parameters) {
        if (texts.isEmpty()) {
            return List.of();
        }
        Encoding[] encodings = tokenizer.batchEncode(texts);
        if (!parameters.truncation()) {
            requireWithinLength(encodings);
        }
        float[] logits = run(encodings);
        Scoring scoring = parameters.scoring() != null ? parameters.scoring() : defaultScoring();
        int labels = config.labels().size();
        List<List<ScoredLabel>> answers = new ArrayList<>(texts.size());
        for (int row = 0; row < encodings.length; row++) {
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

    /**
     * Refuses texts longer than the model's maximum, for a caller that asked not to truncate; the
     * error names the first such text.
     */
    public void requireWithinLength(List<String> texts) {
        requireWithinLength(tokenizer.batchEncode(texts));
    }

    private void requireWithinLength(Encoding[] encodings) {
        for (int i = 0; i < encodings.length; i++) {
            if (encodings[i].exceedMaxLength()) {
                throw new ProblemException(ProblemType.INVALID_INPUT, "text " + i + " is longer than the model's "
                        + config.maxLength() + " tokens; send a shorter text or allow truncation",
                        List.of(new ProblemException.FieldError("/inputs/" + i,
                                "more than " + config.maxLength() + " tokens")));
            }
        }
    }

    /** Pads the batch to its longest member (id 0, mask 0, type 0) and runs the session once. */
    private float[] run(Encoding[] encodings) {
        int batch = encodings.length;
        int length = 0;
        for (Encoding e : encodings) {
            length = Math.max(length, e.getIds().length);
        }
        long[] ids = new long[batch * length];
        long[] mask = new long[batch * length];
        long[] types = new long[batch * length];
        for (int row = 0; row < batch; row++) {
            long[] rowIds = encodings[row].getIds();
            System.arraycopy(rowIds, 0, ids, row * length, rowIds.length);
            System.arraycopy(encodings[row].getAttentionMask(), 0, mask, row * length, rowIds.length);
            System.arraycopy(encodings[row].getTypeIds(), 0, types, row * length, rowIds.length);
        }
        long[] shape = {batch, length};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put(INPUT_IDS, OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape));
            feed.put(ATTENTION_MASK, OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape));
            if (takesTokenTypes) {
                feed.put(TOKEN_TYPE_IDS, OnnxTensor.createTensor(environment, LongBuffer.wrap(types), shape));
            }
            try (OrtSession.Result result = session.run(feed, java.util.Set.of(LOGITS))) {
                OnnxTensor out = (OnnxTensor) result.get(LOGITS).orElseThrow();
                long[] outShape = out.getInfo().getShape();
                if (outShape.length != 2 || outShape[0] != batch || outShape[1] != config.labels().size()) {
                    throw new ProblemException(ProblemType.MODEL_ERROR, "the model's logits do not have one score per "
                            + "label of config.json (" + config.labels().size() + ")");
                }
                FloatBuffer buffer = out.getFloatBuffer();
                float[] logits = new float[buffer.remaining()];
                buffer.get(logits);
                return logits;
            }
        } catch (OrtException e) {
            throw new ProblemException(ProblemType.INFERENCE_FAILED, "ONNX Runtime could not run the model", e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private Scoring defaultScoring() {
        if ("multi_label_classification".equals(config.problemType()) || config.labels().size() == 1) {
            return Scoring.SIGMOID;
        }
        return "regression".equals(config.problemType()) ? Scoring.NONE : Scoring.SOFTMAX;
    }

    private static double[] score(float[] logits, int offset, int count, Scoring scoring) {
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

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException ignored) {
            // nothing more to free
        }
    }

    @Override
    public void close() {
        tokenizer.close();
        closeQuietly(session);
    }
}
