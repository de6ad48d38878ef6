package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Hugging Face's zero-shot-classification pipeline over an NLI model: each text is paired with
 * {@code hypothesis_template} filled with each candidate label; the entailment logits are
 * softmaxed across the candidates, or with {@code multi_label} (or a single candidate) entailment
 * against contradiction for each candidate alone. The entailment index is config.json's first
 * label starting with "entail"; contradiction's the label starting with "contradiction", else
 * Hugging Face's rule (0, or the last when entailment is 0).
 *
 * <p>Signature: {@code text} BYTES [-1] in; {@code sequence} BYTES [-1], {@code labels} BYTES
 * [-1, n] and {@code scores} FP32 [-1, n] out, best first (n candidates, the same for every row of a call).
 */
final class ZeroShotClassifier implements TextTask {
    static final String TEXT = "text";
    static final String SEQUENCE = "sequence";
    static final String LABELS = "labels";
    static final String SCORES = "scores";
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(SEQUENCE, DataType.BYTES, List.of(-1L)),
                    TensorSpec.tensor(LABELS, DataType.BYTES, List.of(-1L, -1L)),
                    TensorSpec.tensor(SCORES, DataType.FP32, List.of(-1L, -1L))));
    private static final Map<String, String> PARAMETERS = Map.of(
            "candidate_labels", "a list of labels, or one string of comma-separated labels (required)",
            "hypothesis_template", "a sentence with {} where each label goes (default \"This example is {}.\")",
            "multi_label", "true to score each label on its own, false (the default) to share 1 between them");
    /** Model rows one request may cost: each text runs once per candidate label. */
    private static final int MAX_PAIRS = 256;

    private final TextEncoder encoder;
    private final int entailment;
    private final int contradiction;

    ZeroShotClassifier(TextEncoder encoder) {
        this.encoder = encoder;
        TextClassifier.requireLogitsPerLabel(encoder, "zero-shot-classification");
        HfModelConfig config = encoder.config();
        this.entailment = config.labelIndex("entail");
        if (entailment < 0) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "zero-shot-classification needs an NLI model: "
                    + "config.json's id2label has no entailment label (it has " + config.labels() + ")");
        }
        int named = config.labelIndex("contradiction");
        this.contradiction = named >= 0 ? named : entailment == 0 ? config.labels().size() - 1 : 0;
    }

    @Override
    public String name() {
        return "zero-shot-classification";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return List.of();
    }

    private record Call(List<String> candidates, String template, boolean multiLabel) {
    }

    private static Call call(Parameters parameters) {
        TaskParameters p = new TaskParameters("zero-shot-classification", PARAMETERS, parameters);
        List<String> candidates = p.strings("candidate_labels").orElseThrow(() -> p.invalid("candidate_labels",
                "send the candidate labels: a list of labels, or one string of comma-separated labels"));
        String template = p.string("hypothesis_template").orElse("This example is {}.");
        if (!template.contains("{}")) {
            throw p.invalid("hypothesis_template", "the template has no {} for the label");
        }
        return new Call(candidates, template, p.bool("multi_label", false));
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        Call call = call(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).requireTexts().values();
        if ((long) texts.size() * call.candidates().size() > MAX_PAIRS) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/candidate_labels", texts.size()
                    + " texts with " + call.candidates().size() + " labels are more than " + MAX_PAIRS
                    + " model rows; send fewer texts per request");
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        Call call = call(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).values();
        int n = call.candidates().size();
        List<String> premises = new ArrayList<>(texts.size() * n);
        List<String> hypotheses = new ArrayList<>(texts.size() * n);
        for (String text : texts) {
            for (String label : call.candidates()) {
                premises.add(text);
                hypotheses.add(call.template().replace("{}", label));
            }
        }
        float[] logits = TextClassifier.logits(encoder, encoder.encodePairs(premises, hypotheses));
        int classes = encoder.config().labels().size();
        List<byte[]> sequences = new ArrayList<>(texts.size());
        List<byte[]> labels = new ArrayList<>(texts.size() * n);
        float[] scores = new float[texts.size() * n];
        for (int row = 0; row < texts.size(); row++) {
            double[] s = new double[n];
            if (call.multiLabel() || n == 1) {
                for (int j = 0; j < n; j++) {
                    int base = (row * n + j) * classes;
                    float[] pair = {logits[base + contradiction], logits[base + entailment]};
                    s[j] = TextClassifier.score(pair, 0, 2, TextClassifier.Scoring.SOFTMAX)[1];
                }
            } else {
                float[] entail = new float[n];
                for (int j = 0; j < n; j++) {
                    entail[j] = logits[(row * n + j) * classes + entailment];
                }
                s = TextClassifier.score(entail, 0, n, TextClassifier.Scoring.SOFTMAX);
            }
            double[] rowScores = s;
            List<Integer> order = IntStream.range(0, n).boxed()
                    .sorted(Comparator.comparingDouble((Integer j) -> rowScores[j]).reversed()).toList();
            for (int j = 0; j < n; j++) {
                labels.add(call.candidates().get(order.get(j)).getBytes(StandardCharsets.UTF_8));
                scores[row * n + j] = (float) rowScores[order.get(j)];
            }
            sequences.add(texts.get(row).getBytes(StandardCharsets.UTF_8));
        }
        Map<String, Output> answer = new LinkedHashMap<>();
        answer.put(SEQUENCE, Tensor.ofBytes(SEQUENCE, new long[]{texts.size()}, sequences));
        answer.put(LABELS, Tensor.ofBytes(LABELS, new long[]{texts.size(), n}, labels));
        answer.put(SCORES, Tensor.ofFloats(SCORES, new long[]{texts.size(), n}, scores));
        if (!outputs.isEmpty()) {
            answer.keySet().retainAll(outputs);
        }
        return answer;
    }

    @Override
    public void close() {
        encoder.close();
    }
}
