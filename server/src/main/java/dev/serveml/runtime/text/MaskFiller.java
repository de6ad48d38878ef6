package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's fill-mask pipeline: at each mask token, the softmax over the vocabulary (or the
 * probabilities of the {@code targets} alone), its {@code top_k} (default 5) tokens with the
 * text they make: {@code [{"score", "token", "token_str", "sequence"}]} for a text with one mask,
 * a list of those per mask for several (the other masks then stay in the sequence, as HF writes it).
 *
 * <p>Signature: {@code text} BYTES [-1] in, {@code answer} BYTES [-1] out, each row Hugging Face's
 * JSON (ragged: the number of masks differs by text; see {@link TextTask}).
 */
final class MaskFiller implements TextTask {
    static final String TEXT = "text";
    static final String ANSWER = "answer";
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(ANSWER, DataType.BYTES, List.of(-1L))));
    private static final Map<String, String> PARAMETERS = Map.of(
            "top_k", "a whole number from 1 to 100: how many tokens per mask, best first",
            "targets", "a list of tokens of the vocabulary to score instead of all of it",
            "truncation", "true (the default) or false to refuse a text longer than the model's maximum");

    private final TextEncoder encoder;
    private final String maskToken;
    private final long maskId;

    MaskFiller(TextEncoder encoder) {
        this.encoder = encoder;
        long[] shape = encoder.outputShape(TextClassifier.LOGITS).orElseThrow(() -> new ProblemException(
                ProblemType.INVALID_MODEL, "a fill-mask export answers logits (export it with optimum-cli export onnx "
                + "--task fill-mask)"));
        if (shape.length != 3) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the ONNX export's logits have shape "
                    + Arrays.toString(shape) + ", not [batch, tokens, vocabulary], so it cannot serve fill-mask");
        }
        this.maskToken = encoder.config().maskToken() != null ? encoder.config().maskToken() : "[MASK]";
        this.maskId = encoder.tokenId(maskToken).orElseThrow(() -> new ProblemException(ProblemType.INVALID_MODEL,
                "the tokenizer has no mask token (" + maskToken + "), so the model cannot serve fill-mask"));
    }

    @Override
    public String name() {
        return "fill-mask";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return List.of();
    }

    /** @param targets token ids to score, or null for the whole vocabulary */
    private record Call(int topK, long[] targets, boolean truncation) {
    }

    private Call call(Parameters parameters) {
        TaskParameters p = new TaskParameters("fill-mask", PARAMETERS, parameters);
        long[] targets = null;
        if (p.has("targets")) {
            List<String> tokens = p.strings("targets").orElseThrow();
            targets = new long[tokens.size()];
            for (int i = 0; i < targets.length; i++) {
                String token = tokens.get(i);
                targets[i] = encoder.tokenId(token).orElseThrow(() -> p.invalid("targets", "'" + token
                        + "' is not a token of the model's vocabulary"));
            }
        }
        return new Call(p.integer("top_k", 1, 100, 5), targets, p.bool("truncation", true));
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        Call call = call(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).requireTexts().values();
        Encoding[] encodings = encoder.encode(texts);
        if (!call.truncation()) {
            encoder.requireWithinLength(encodings, i -> "/inputs/" + i);
        }
        for (int i = 0; i < encodings.length; i++) {
            if (Arrays.stream(encodings[i].getIds()).noneMatch(id -> id == maskId)) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs/" + i, "the text has no mask token; "
                        + "put " + maskToken + " where a word should be predicted");
            }
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        Call call = call(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).values();
        Encoding[] encodings = encoder.encode(texts);
        TextEncoder.Floats logits = encoder.run(TextEncoder.Batch.of(encodings), Set.of(TextClassifier.LOGITS))
                .get(TextClassifier.LOGITS);
        int length = (int) logits.shape()[1];
        int vocabulary = (int) logits.shape()[2];
        List<byte[]> rows = new ArrayList<>(texts.size());
        for (int row = 0; row < texts.size(); row++) {
            long[] ids = encodings[row].getIds();
            List<Integer> masks = new ArrayList<>();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == maskId) {
                    masks.add(i);
                }
            }
            int r = row;
            rows.add(TextTask.json(g -> {
                boolean single = masks.size() == 1;
                if (!single) {
                    g.writeStartArray();
                }
                for (int mask : masks) {
                    double[] p = TextClassifier.score(logits.values(), (r * length + mask) * vocabulary, vocabulary,
                            TextClassifier.Scoring.SOFTMAX);
                    writeMask(g, ids, mask, p, call, single);
                }
                if (!single) {
                    g.writeEndArray();
                }
            }));
        }
        return Map.of(ANSWER, Tensor.ofBytes(ANSWER, new long[]{rows.size()}, rows));
    }

    private void writeMask(JsonGenerator g, long[] ids, int mask, double[] probabilities, Call call, boolean single)
            throws IOException {
        long[] candidates = call.targets();
        if (candidates == null) {
            candidates = new long[probabilities.length];
            for (int i = 0; i < candidates.length; i++) {
                candidates[i] = i;
            }
        }
        Long[] order = Arrays.stream(candidates).boxed().toArray(Long[]::new);
        Arrays.sort(order, (a, b) -> Double.compare(probabilities[(int) (long) b], probabilities[(int) (long) a]));
        g.writeStartArray();
        for (int i = 0; i < Math.min(call.topK(), order.length); i++) {
            long token = order[i];
            long[] filled = ids.clone();
            filled[mask] = token;
            g.writeStartObject();
            g.writeNumberField("score", (float) probabilities[(int) token]);
            g.writeNumberField("token", token);
            g.writeStringField("token_str", encoder.decode(new long[]{token}, false));
            // with several masks the others stay visible, so the special tokens do too (as HF does)
            g.writeStringField("sequence", encoder.decode(filled, single));
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    @Override
    public void close() {
        encoder.close();
    }
}
