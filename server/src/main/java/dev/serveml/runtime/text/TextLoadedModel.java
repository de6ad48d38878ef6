package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A text-classification repository in memory, with a signature any protocol can call: one text
 * per row in, the top k labels and their scores per row out.
 *
 * <p>Why two outputs, {@code label} BYTES [-1, k] and {@code score} FP32 [-1, k], rather than one
 * list of {@code {"label", "score"}} per row: they are plain typed tensors, so V2 clients get them
 * as they get any model's, the batcher cuts a stacked answer back by rows like any other, and the
 * native route turns them into Hugging Face's shape without a second encoding. k is the same for
 * every row of a call ({@code top_k}, at most the number of labels), and calls with different
 * parameters are never stacked.
 */
final class TextLoadedModel implements LoadedModel {
    static final String TEXT = "text";
    static final String LABEL = "label";
    static final String SCORE = "score";
    /**
     * Texts one request may send: the ONNX call pads them all to the longest, so a list far past a
     * batch costs memory for nothing; clients split larger lists.
     */
    static final int MAX_TEXTS = 256;
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(LABEL, DataType.BYTES, List.of(-1L, -1L)),
                    TensorSpec.tensor(SCORE, DataType.FP32, List.of(-1L, -1L))));
    private static final Map<String, String> PARAMETERS = Map.of(
            "top_k", "a whole number, 1 or more: how many labels per text, best first",
            "function_to_apply", "softmax, sigmoid or none",
            "truncation", "true (the default) or false to refuse a text longer than the model's maximum");

    private final TextClassifier classifier;
    private final Map<String, Object> metadata;
    private final long memoryBytes;
    private final int instances;
    private final Runnable onClose;

    /**
     * @param fileBytes the repository's size on disk
     * @param instances concurrent calls its deployment asked for; 0 for the server's default
     * @param onClose   run once the model is closed (removes its private directory)
     */
    TextLoadedModel(TextClassifier classifier, Map<String, Object> metadata, long fileBytes, int instances,
                    Runnable onClose) {
        this.classifier = classifier;
        this.metadata = Map.copyOf(metadata);
        // ONNX Runtime's arena roughly doubles the weights; the tokenizer holds its vocabulary once.
        this.memoryBytes = fileBytes * 2 + (1 << 20);
        this.instances = instances;
        this.onClose = onClose;
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public Map<String, Object> metadata() {
        return metadata;
    }

    @Override
    public boolean batchable() {
        return true;
    }

    /**
     * A call is padded to its longest text and costs about its length (attention more), so texts
     * are batched with others of similar length: groups by the longest text's UTF-8 bytes in powers
     * of two (1-16, 17-32, 33-64, ...; a call pads each member by less than 2x). Past 8 bytes per
     * token of the model's maximum every text is truncated to the same length, so those share one group.
     */
    @Override
    public int batchGroup(List<Tensor> inputs, Parameters parameters) {
        int longest = 1;
        for (Tensor t : inputs) {
            if (t.name().equals(TEXT)) {
                for (byte[] text : t.bytes()) {
                    longest = Math.max(longest, text.length);
                }
            }
        }
        int bytes = (int) Math.max(1, Math.min(longest, 8L * classifier.config().maxLength()));
        return 33 - Integer.numberOfLeadingZeros((bytes - 1) >> 4);
    }

    @Override
    public int concurrency() {
        return instances;
    }

    @Override
    public long memoryBytes() {
        return memoryBytes;
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        TextClassifier.Parameters p = parameters(parameters);
        List<String> texts = texts(inputs);
        if (texts.isEmpty()) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs", "send at least one text");
        }
        if (texts.size() > MAX_TEXTS) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs", "at most " + MAX_TEXTS
                    + " texts per request, got " + texts.size() + "; split the list");
        }
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).isBlank()) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs/" + i, "the text is empty");
            }
        }
        if (!p.truncation()) {
            classifier.requireWithinLength(texts);
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
        return infer(inputs, outputs, Parameters.NONE);
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        List<String> texts = texts(inputs);
        List<List<ScoredLabel>> answers = classifier.classify(texts, parameters(parameters));
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
    private static TextClassifier.Parameters parameters(Parameters parameters) {
        for (String name : parameters.values().keySet()) {
            if (!PARAMETERS.containsKey(name)) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + name, "unknown parameter; "
                        + "a text-classification model takes " + String.join(", ", PARAMETERS.keySet().stream()
                        .sorted().toList()));
            }
        }
        int topK = TextClassifier.Parameters.DEFAULT.topK();
        Object k = parameters.values().get("top_k");
        if (k != null) {
            if (!(k instanceof Long n) || n < 1) {
                throw invalid("top_k");
            }
            topK = (int) Math.min(n, Integer.MAX_VALUE);
        }
        TextClassifier.Scoring scoring = null;
        Object f = parameters.values().get("function_to_apply");
        if (f != null) {
            try {
                scoring = TextClassifier.Scoring.valueOf(((String) f).toUpperCase(Locale.ROOT));
            } catch (ClassCastException | IllegalArgumentException e) {
                throw invalid("function_to_apply");
            }
        }
        Object t = parameters.values().get("truncation");
        if (t != null && !(t instanceof Boolean)) {
            throw invalid("truncation");
        }
        return new TextClassifier.Parameters(topK, scoring, t == null || (Boolean) t);
    }

    private static ProblemException invalid(String name) {
        return ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + name, PARAMETERS.get(name));
    }

    /** The {@code text} input as strings; bytes that are not UTF-8 are a 422 naming the row. */
    private static List<String> texts(List<Tensor> inputs) {
        Tensor t = inputs.stream().filter(i -> i.name().equals(TEXT)).findFirst()
                .orElseThrow(() -> ProblemException.field(ProblemType.MISSING_INPUT, "/inputs", "send the text"));
        List<String> texts = new ArrayList<>(t.bytes().size());
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int i = 0; i < t.bytes().size(); i++) {
            try {
                CharBuffer chars = decoder.decode(ByteBuffer.wrap(t.bytes().get(i)));
                texts.add(chars.toString());
            } catch (CharacterCodingException e) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs/" + i, "the text is not UTF-8");
            }
        }
        return texts;
    }

    @Override
    public void close() {
        try {
            classifier.close();
        } finally {
            onClose.run();
        }
    }
}
