package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's token-classification (NER) pipeline: a label per token from the softmax of its
 * logits, special tokens left out, then grouped as {@code aggregation_strategy} says:
 * {@code none} (each token, with its {@code index}), {@code simple} (runs of one tag, B-/I-),
 * {@code first} or {@code max} (each word takes the label of its first token or its most confident
 * one, then runs as simple). Labels in {@code ignore_labels} (default {@code ["O"]}) are left out.
 * {@code start}/{@code end} are character offsets into the text as sent, not the normalized text,
 * counted in code points as Hugging Face's (Python's) are: an emoji is one.
 *
 * <p>Signature: {@code text} BYTES [-1] in, {@code entities} BYTES [-1] out, each row its text's
 * entities as Hugging Face's JSON list (ragged; see {@link TextTask}).
 */
final class TokenClassifier implements TextTask {
    static final String TEXT = "text";
    static final String ENTITIES = "entities";
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(ENTITIES, DataType.BYTES, List.of(-1L))));
    private static final List<String> STRATEGIES = List.of("none", "simple", "first", "max");
    private static final Map<String, String> PARAMETERS = Map.of(
            "aggregation_strategy", "none, simple, first or max",
            "ignore_labels", "a list of labels to leave out (default [\"O\"])",
            "truncation", "true (the default) or false to refuse a text longer than the model's maximum");

    private final TextEncoder encoder;
    private final List<String> labels;
    private final String unknownToken;

    /** What the pipeline knows of one token before aggregation. */
    private record Token(int index, String word, long id, double[] scores, int start, int end, boolean subword) {
        int best() {
            int best = 0;
            for (int j = 1; j < scores.length; j++) {
                if (scores[j] > scores[best]) {
                    best = j;
                }
            }
            return best;
        }
    }

    /** One entity or word before grouping; {@code index} is -1 for a word. */
    private record Entity(String entity, double score, int index, List<Token> tokens, int start, int end) {
    }

    TokenClassifier(TextEncoder encoder) {
        this.encoder = encoder;
        this.labels = encoder.config().labels();
        long[] shape = encoder.outputShape(TextClassifier.LOGITS).orElseThrow(() -> new ProblemException(
                ProblemType.INVALID_MODEL, "a token-classification export answers logits (export it with optimum-cli "
                + "export onnx --task token-classification)"));
        if (shape.length != 3) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the ONNX export's logits have shape "
                    + java.util.Arrays.toString(shape) + ", not [batch, tokens, labels], so it cannot serve "
                    + "token-classification (it gives one answer per text, not per token)");
        }
        if (labels.isEmpty()) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "config.json names no labels (id2label or num_labels)");
        }
        this.unknownToken = "[UNK]";
    }

    @Override
    public String name() {
        return "token-classification";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    private record Call(String strategy, List<String> ignore, boolean truncation) {
    }

    private static Call call(Parameters parameters) {
        TaskParameters p = new TaskParameters("token-classification", PARAMETERS, parameters);
        return new Call(p.choice("aggregation_strategy", STRATEGIES, "none"),
                p.strings("ignore_labels").orElse(List.of("O")), p.bool("truncation", true));
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
        Encoding[] encodings = encoder.encode(texts);
        TextEncoder.Floats logits = encoder.run(TextEncoder.Batch.of(encodings), Set.of(TextClassifier.LOGITS))
                .get(TextClassifier.LOGITS);
        if (logits.shape().length != 3 || logits.shape()[2] != labels.size()) {
            throw new ProblemException(ProblemType.MODEL_ERROR, "the model's logits do not have one score per label of "
                    + "config.json (" + labels.size() + ") per token");
        }
        List<byte[]> rows = new ArrayList<>(texts.size());
        for (int row = 0; row < texts.size(); row++) {
            List<Token> tokens = tokens(texts.get(row), encodings[row], logits, row);
            List<Entity> entities = call.strategy().equals("none") || call.strategy().equals("simple")
                    ? tokens.stream().map(t -> new Entity(labels.get(t.best()), t.scores()[t.best()], t.index(),
                    List.of(t), t.start(), t.end())).toList()
                    : words(tokens, call.strategy());
            rows.add(call.strategy().equals("none") ? answerTokens(entities, call.ignore())
                    : answerGroups(group(entities), call.ignore()));
        }
        return Map.of(ENTITIES, Tensor.ofBytes(ENTITIES, new long[]{texts.size()}, rows));
    }

    /** gather_pre_entities: each non-special token's softmax, word and offsets into the original text. */
    private List<Token> tokens(String text, Encoding encoding, TextEncoder.Floats logits, int row) {
        long[] special = encoding.getSpecialTokenMask();
        String[] words = encoding.getTokens();
        CharSpan[] spans = encoding.getCharTokenSpans();
        long[] ids = encoding.getIds();
        int length = (int) logits.shape()[1];
        int count = labels.size();
        List<Token> out = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            if (special[i] == 1 || spans[i] == null) {
                continue;
            }
            double[] scores = TextClassifier.score(logits.values(), (row * length + i) * count, count,
                    TextClassifier.Scoring.SOFTMAX);
            int start = spans[i].getStart();
            int end = spans[i].getEnd();
            String reference = TextEncoder.slice(text, start, end);
            String word = words[i];
            boolean subword = word.codePointCount(0, word.length()) != end - start;
            if (word.equals(unknownToken)) {
                word = reference;
                subword = false;
            }
            out.add(new Token(i, word, ids[i], scores, start, end, subword));
        }
        return out;
    }

    /** aggregate_words: a word is a token and the subword tokens after it; it takes one token's label. */
    private List<Entity> words(List<Token> tokens, String strategy) {
        List<List<Token>> groups = new ArrayList<>();
        for (Token t : tokens) {
            if (groups.isEmpty() || !t.subword()) {
                groups.add(new ArrayList<>());
            }
            groups.getLast().add(t);
        }
        List<Entity> out = new ArrayList<>(groups.size());
        for (List<Token> word : groups) {
            Token chosen = word.getFirst();
            if (strategy.equals("max")) {
                for (Token t : word) {
                    if (t.scores()[t.best()] > chosen.scores()[chosen.best()]) {
                        chosen = t;
                    }
                }
            }
            out.add(new Entity(labels.get(chosen.best()), chosen.scores()[chosen.best()], -1, word,
                    word.getFirst().start(), word.getLast().end()));
        }
        return out;
    }

    /** group_entities: a run continues while the tag stays the same and the next is not a B-. */
    private static List<List<Entity>> group(List<Entity> entities) {
        List<List<Entity>> runs = new ArrayList<>();
        for (Entity e : entities) {
            if (!runs.isEmpty()) {
                String[] tag = tag(e.entity());
                String[] last = tag(runs.getLast().getLast().entity());
                if (tag[1].equals(last[1]) && !tag[0].equals("B")) {
                    runs.getLast().add(e);
                    continue;
                }
            }
            runs.add(new ArrayList<>(List.of(e)));
        }
        return runs;
    }

    /** {@code [B|I, tag]}; a label without a B-/I- prefix continues a run of itself. */
    private static String[] tag(String label) {
        if (label.startsWith("B-") || label.startsWith("I-")) {
            return new String[]{label.substring(0, 1), label.substring(2)};
        }
        return new String[]{"I", label};
    }

    private byte[] answerTokens(List<Entity> entities, List<String> ignore) {
        return TextTask.json(g -> {
            g.writeStartArray();
            for (Entity e : entities) {
                if (ignore.contains(e.entity())) {
                    continue;
                }
                g.writeStartObject();
                g.writeStringField("entity", e.entity());
                g.writeNumberField("score", (float) e.score());
                g.writeNumberField("index", e.index());
                g.writeStringField("word", e.tokens().getFirst().word());
                g.writeNumberField("start", e.start());
                g.writeNumberField("end", e.end());
                g.writeEndObject();
            }
            g.writeEndArray();
        });
    }

    private byte[] answerGroups(List<List<Entity>> runs, List<String> ignore) {
        return TextTask.json(g -> {
            g.writeStartArray();
            for (List<Entity> run : runs) {
                String group = run.getFirst().entity();
                group = group.contains("-") ? group.substring(group.indexOf('-') + 1) : group;
                if (ignore.contains(group)) {
                    continue;
                }
                double score = 0;
                List<Token> tokens = new ArrayList<>();
                for (Entity e : run) {
                    score += e.score();
                    tokens.addAll(e.tokens());
                }
                writeGroup(g, group, score / run.size(), tokens, run.getFirst().start(), run.getLast().end());
            }
            g.writeEndArray();
        });
    }

    private void writeGroup(JsonGenerator g, String group, double score, List<Token> tokens, int start, int end)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("entity_group", group);
        g.writeNumberField("score", (float) score);
        g.writeStringField("word", word(tokens));
        g.writeNumberField("start", start);
        g.writeNumberField("end", end);
        g.writeEndObject();
    }

    /**
     * convert_tokens_to_string over the entity's tokens. Hugging Face decodes a word's tokens, then
     * the run's words' strings again as tokens; for WordPiece that is the same as decoding all the
     * run's tokens at once, which is what this does.
     */
    private String word(List<Token> tokens) {
        long[] ids = tokens.stream().mapToLong(Token::id).toArray();
        return encoder.joinTokens(tokens.stream().map(Token::word).toList(), ids);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
