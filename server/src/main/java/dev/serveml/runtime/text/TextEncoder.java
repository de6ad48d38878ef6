package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import ai.djl.util.PairList;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What every text task shares: the repository's tokenizer (DJL's binding of the Rust tokenizers),
 * its ONNX session, its config.json, and the one way a batch is padded and run. Each task owns what
 * comes before (which texts, which pairs) and after (how outputs become answers).
 *
 * <p>A batch is padded to its longest member (id 0, mask 0, type 0); the attention mask keeps the
 * padding out of every answer, so a text scores the same alone or in any batch.
 *
 * <p>Thread-safe: {@code OrtSession.run} and the Rust tokenizer may be called concurrently.
 */
final class TextEncoder implements AutoCloseable {
    /** Optimum's input names; {@code token_type_ids} only where the export takes it (not DistilBERT's, nor RoBERTa's). */
    static final String INPUT_IDS = "input_ids";
    static final String ATTENTION_MASK = "attention_mask";
    static final String TOKEN_TYPE_IDS = "token_type_ids";

    /** One output of a run: its shape and values, row-major. */
    record Floats(long[] shape, float[] values) {
    }

    /**
     * Token rows ready to run, each padded to {@code length}.
     *
     * @param rows   how many rows
     * @param length tokens per row
     */
    record Batch(int rows, int length, long[] ids, long[] mask, long[] types) {
        static Batch of(Encoding[] encodings) {
            int length = 0;
            for (Encoding e : encodings) {
                length = Math.max(length, e.getIds().length);
            }
            Batch batch = new Batch(encodings.length, length, new long[encodings.length * length],
                    new long[encodings.length * length], new long[encodings.length * length]);
            for (int row = 0; row < encodings.length; row++) {
                batch.put(row, encodings[row].getIds(), encodings[row].getAttentionMask(), encodings[row].getTypeIds());
            }
            return batch;
        }

        /** Rows built by hand (a question-answering window), all with the same length limit. */
        static Batch of(List<long[]> ids, List<long[]> types) {
            List<long[]> masks = new ArrayList<>(ids.size());
            for (long[] row : ids) {
                long[] mask = new long[row.length];
                java.util.Arrays.fill(mask, 1);
                masks.add(mask);
            }
            return of(ids, masks, types);
        }

        static Batch of(List<long[]> ids, List<long[]> masks, List<long[]> types) {
            int length = ids.stream().mapToInt(r -> r.length).max().orElse(0);
            Batch batch = new Batch(ids.size(), length, new long[ids.size() * length], new long[ids.size() * length],
                    new long[ids.size() * length]);
            for (int row = 0; row < ids.size(); row++) {
                batch.put(row, ids.get(row), masks.get(row), types.get(row));
            }
            return batch;
        }

        private void put(int row, long[] rowIds, long[] rowMask, long[] rowTypes) {
            System.arraycopy(rowIds, 0, ids, row * length, rowIds.length);
            System.arraycopy(rowMask, 0, mask, row * length, rowIds.length);
            System.arraycopy(rowTypes, 0, types, row * length, rowIds.length);
        }
    }

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final HuggingFaceTokenizer tokenizer;
    private final HfModelConfig config;
    private final String tokenizerKind;
    private final boolean takesTokenTypes;

    private TextEncoder(OrtEnvironment environment, OrtSession session, HuggingFaceTokenizer tokenizer,
                        HfModelConfig config, String tokenizerKind) {
        this.environment = environment;
        this.session = session;
        this.tokenizer = tokenizer;
        this.config = config;
        this.tokenizerKind = tokenizerKind;
        this.takesTokenTypes = session.getInputNames().contains(TOKEN_TYPE_IDS);
        if (!session.getInputNames().contains(INPUT_IDS) || !session.getInputNames().contains(ATTENTION_MASK)) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "a text model's ONNX export takes input_ids and "
                    + "attention_mask (export it with optimum-cli export onnx)");
        }
    }

    /**
     * The part of {@code text} between two of the tokenizer's character offsets, which count code
     * points (as Python's do), not Java's UTF-16 units: they differ from the first character
     * outside the Basic Multilingual Plane (an emoji) on.
     */
    static String slice(String text, int start, int end) {
        int from = text.offsetByCodePoints(0, start);
        return text.substring(from, text.offsetByCodePoints(from, end - start));
    }

    /**
     * Opens the repository in {@code repo} (config.json, tokenizer.json) with the ONNX file
     * {@code model}. The tokenizer truncates to the model's maximum unless {@code truncating} is
     * false (question answering cuts long contexts into windows itself).
     */
    static TextEncoder open(OrtEnvironment environment, Path repo, Path model, OrtSession.SessionOptions options,
                            boolean truncating) {
        HfModelConfig config = HfModelConfig.read(repo);
        HuggingFaceTokenizer tokenizer = null;
        OrtSession session = null;
        try {
            tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(repo).optAddSpecialTokens(true)
                    .optTruncation(truncating).optPadding(false).optMaxLength(config.maxLength()).build();
            session = environment.createSession(model.toString(), options);
            String kind = TextModelRuntime.tokenizerKind(repo.resolve("tokenizer.json"));
            return new TextEncoder(environment, session, tokenizer, config, kind);
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

    HfModelConfig config() {
        return config;
    }

    /** The session itself, for a task that feeds more than ids and mask (generation's past key/values). */
    OrtSession session() {
        return session;
    }

    OrtEnvironment environment() {
        return environment;
    }

    /** The shape ONNX Runtime reports for an output (-1 for a dynamic dimension), or empty if there is none. */
    Optional<long[]> outputShape(String name) {
        try {
            NodeInfo info = session.getOutputInfo().get(name);
            return info != null && info.getInfo() instanceof TensorInfo t ? Optional.of(t.getShape()) : Optional.empty();
        } catch (OrtException e) {
            return Optional.empty();
        }
    }

    Set<String> outputNames() {
        return session.getOutputNames();
    }

    Encoding[] encode(List<String> texts) {
        return tokenizer.batchEncode(texts);
    }

    /**
     * The texts as the model takes them, when only ids, attention mask and type ids are needed
     * (classification, embeddings): read straight from the Rust encodings. DJL's {@link Encoding}
     * copies eight arrays per text across JNI (tokens, offsets, word ids, ...), which was nearly half
     * of a short text's tokenization. Same tokenizer, same truncation, so the same ids as {@link #encode}.
     */
    Batch batch(List<String> texts) {
        long[] handles = TokenizersLibrary.LIB.batchEncode(tokenizer.getHandle(), texts.toArray(String[]::new), true);
        try {
            List<long[]> ids = new ArrayList<>(handles.length);
            List<long[]> masks = new ArrayList<>(handles.length);
            List<long[]> types = new ArrayList<>(handles.length);
            for (long h : handles) {
                ids.add(TokenizersLibrary.LIB.getTokenIds(h));
                masks.add(TokenizersLibrary.LIB.getAttentionMask(h));
                types.add(TokenizersLibrary.LIB.getTypeIds(h));
            }
            return Batch.of(ids, masks, types);
        } finally {
            for (long h : handles) {
                TokenizersLibrary.LIB.deleteEncoding(h);
            }
        }
    }

    /** Texts with their second texts ({@code [CLS] a [SEP] b [SEP]} for BERT), as the tokenizer's template pairs them. */
    Encoding[] encodePairs(List<String> first, List<String> second) {
        PairList<String, String> pairs = new PairList<>(first, second);
        return tokenizer.batchEncode(pairs);
    }

    /** A text's tokens alone, without special tokens and never truncated. */
    Encoding encodePlain(String text) {
        return tokenizer.encode(text, false, false);
    }

    /** Refuses the first of the texts (named {@code /inputs/i}) the tokenizer would cut, for a caller that asked not to truncate. */
    void requireWithinLength(List<String> texts) {
        requireWithinLength(encode(texts), i -> "/inputs/" + i);
    }

    /** Refuses the first encoding the tokenizer had to cut, for a caller that asked not to truncate. */
    void requireWithinLength(Encoding[] encodings, java.util.function.IntFunction<String> pointer) {
        for (int i = 0; i < encodings.length; i++) {
            if (encodings[i].exceedMaxLength()) {
                throw new ProblemException(ProblemType.INVALID_INPUT, "input " + i + " is longer than the model's "
                        + config.maxLength() + " tokens; send a shorter text or allow truncation",
                        List.of(new ProblemException.FieldError(pointer.apply(i),
                                "more than " + config.maxLength() + " tokens")));
            }
        }
    }

    /** The id of a token of the vocabulary (one that encodes alone to exactly one id), if it is one. */
    Optional<Long> tokenId(String token) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        String[] tokens = tokenizer.encode(token, false, false).getTokens();
        return ids.length == 1 && tokens[0].equals(token) ? Optional.of(ids[0]) : Optional.empty();
    }

    /**
     * The tokenizer's decoding of {@code ids}, then transformers' {@code clean_up_tokenization} where
     * tokenizer_config.json asks for it (as {@code tokenizer.decode} does in Python).
     */
    String decode(long[] ids, boolean skipSpecialTokens) {
        String text = tokenizer.decode(ids, skipSpecialTokens);
        return config.cleanUpTokenizationSpaces() ? cleanUp(text) : text;
    }

    /**
     * transformers' {@code convert_tokens_to_string}: the tokenizer's decoder over token strings,
     * which may hold original text where a token was unknown. For WordPiece (prefix {@code ##},
     * cleanup) it is written here, as the Rust decoder does it per token; other tokenizers decode the ids.
     */
    String joinTokens(List<String> tokens, long[] ids) {
        if (!"WordPiece".equals(tokenizerKind)) {
            return tokenizer.decode(ids, false);
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < tokens.size(); i++) {
            String token = tokens.get(i);
            if (i != 0) {
                token = token.startsWith("##") ? token.substring(2) : " " + token;
            }
            out.append(wordPieceCleanup(token));
        }
        return out.toString();
    }

    private static String wordPieceCleanup(String token) {
        return cleanUp(token).replace(" do not", " don't");
    }

    /** transformers' clean_up_tokenization. */
    private static String cleanUp(String text) {
        return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                .replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s").replace(" 've", "'ve")
                .replace(" 're", "'re");
    }

    /** Runs the session once on the batch; the outputs named, as floats with their shapes. */
    Map<String, Floats> run(Batch batch, Set<String> outputs) {
        long[] shape = {batch.rows(), batch.length()};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put(INPUT_IDS, OnnxTensor.createTensor(environment, LongBuffer.wrap(batch.ids()), shape));
            feed.put(ATTENTION_MASK, OnnxTensor.createTensor(environment, LongBuffer.wrap(batch.mask()), shape));
            if (takesTokenTypes) {
                feed.put(TOKEN_TYPE_IDS, OnnxTensor.createTensor(environment, LongBuffer.wrap(batch.types()), shape));
            }
            try (OrtSession.Result result = session.run(feed, outputs)) {
                Map<String, Floats> out = new HashMap<>();
                for (String name : outputs) {
                    OnnxTensor t = (OnnxTensor) result.get(name).orElseThrow();
                    long[] outShape = t.getInfo().getShape();
                    if (outShape.length == 0 || outShape[0] != batch.rows()) {
                        throw new ProblemException(ProblemType.MODEL_ERROR, "the model's " + name
                                + " output does not have one row per input");
                    }
                    FloatBuffer buffer = t.getFloatBuffer();
                    if (buffer == null) {
                        throw new ProblemException(ProblemType.MODEL_ERROR, "the model's " + name + " output is not FP32");
                    }
                    float[] values = new float[buffer.remaining()];
                    buffer.get(values);
                    out.put(name, new Floats(outShape, values));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new ProblemException(ProblemType.INFERENCE_FAILED, "ONNX Runtime could not run the model", e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
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
