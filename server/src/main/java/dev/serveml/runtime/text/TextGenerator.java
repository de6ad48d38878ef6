package dev.serveml.runtime.text;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.TokenSink;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Hugging Face's text-generation pipeline over a decoder-only ONNX export with past key/values
 * (Optimum's names: {@code input_ids}, {@code attention_mask}, {@code position_ids} where the export
 * takes it, {@code past_key_values.N.key/value}, {@code use_cache_branch} in a merged export; out
 * {@code logits}, {@code present.N.key/value}). The prompt runs once with a past of 0 tokens, then
 * each step feeds only the new token and the presents of the step before, so a token costs one
 * token's work, not the whole prefix again. An export without past inputs is refused at load.
 *
 * <p>Greedy by default (the first highest logit, as torch's argmax); {@code do_sample} draws from
 * the softmax after Hugging Face's processors in its order: repetition penalty, temperature, top k,
 * top p. The draws come from {@link SplittableRandom} seeded with {@code seed}, so a seeded sample
 * is the same on every run and machine (not the same draws as torch's generator).
 *
 * <p>Signature: {@code text} BYTES [-1] in; {@code generated_text} BYTES [-1] (the prompt first
 * unless {@code return_full_text} is false, as Hugging Face does), {@code prompt_tokens} and
 * {@code completion_tokens} INT64 [-1] (for usage accounting) and {@code finish_reason} BYTES [-1]
 * ({@code length}, {@code eos} or {@code stop}: why each row ended) out. Each row is its own loop, and
 * the batcher stacks no calls ({@link #batchable}): sequences sharing model calls step by step is
 * continuous batching, later work. {@link #generate} ({@link Generator}) is the call another route
 * (streaming, the OpenAI completions) makes, with a listener per token that may stop the loop.
 */
final class TextGenerator implements TextTask, Generator {
    static final String TEXT = "text";
    static final String GENERATED_TEXT = "generated_text";
    static final String PROMPT_TOKENS = "prompt_tokens";
    static final String COMPLETION_TOKENS = "completion_tokens";
    static final String FINISH_REASON = "finish_reason";
    static final String POSITION_IDS = "position_ids";
    static final String USE_CACHE_BRANCH = "use_cache_branch";
    static final String LOGITS = "logits";
    /** Without a max_new_tokens in generation_config.json, as transformers' default max_length (20) leaves about. */
    static final int DEFAULT_MAX_NEW_TOKENS = 20;
    static final int MAX_STOP_STRINGS = 16;
    static final int MAX_LOGPROBS = 20;
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(TEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(GENERATED_TEXT, DataType.BYTES, List.of(-1L)),
                    TensorSpec.tensor(PROMPT_TOKENS, DataType.INT64, List.of(-1L)),
                    TensorSpec.tensor(COMPLETION_TOKENS, DataType.INT64, List.of(-1L)),
                    TensorSpec.tensor(FINISH_REASON, DataType.BYTES, List.of(-1L))));
    private static final Map<String, String> PARAMETERS = Map.ofEntries(
            Map.entry("max_new_tokens", "a whole number from 1 to the model's context: the most tokens to generate"),
            Map.entry("do_sample", "true to sample, false (the default) for greedy decoding"),
            Map.entry("temperature", "a number above 0 and at most 100 that divides the logits when sampling"),
            Map.entry("top_k", "a whole number from 0 (off) up: sample among the k likeliest tokens"),
            Map.entry("top_p", "a number above 0 and at most 1: sample among the likeliest tokens whose probabilities add up to it"),
            Map.entry("repetition_penalty", "a number above 0 and at most 100 (1, the default, is none)"),
            Map.entry("seed", "a whole number from 0 up: the same seed samples the same text"),
            Map.entry("stop", "a string or a list of at most " + MAX_STOP_STRINGS + " strings that end the generation"),
            Map.entry("return_full_text", "true (the default) to answer the prompt and its continuation, false for the "
                    + "continuation alone"),
            Map.entry("chat", "true when the text is a conversation (a JSON array of {role, content} messages) to render "
                    + "with the model's chat template"),
            Map.entry("logprobs", "a whole number from 0 to " + MAX_LOGPROBS + ": report each streamed token's log probability "
                    + "and this many likeliest alternatives"));
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TextEncoder encoder;
    private final OrtSession session;
    private final List<String> pastNames = new ArrayList<>();
    private final List<String> presentNames = new ArrayList<>();
    private final boolean takesPositions;
    private final boolean cacheBranch;
    private final long heads;
    private final long headSize;
    private final int context;
    private final int vocabulary;
    private final Set<Long> eos;
    private final int defaultMaxNewTokens;
    private final boolean defaultDoSample;
    private final ChatTemplate chat;
    private final DecodeLoop loop;
    /** Direct buffers of the last rebuilt past, per past input, for the next: the loop's thread only. */
    private final FloatBuffer[] spare;

    /**
     * @param sequences the most sequences stepped through one model call together
     * @param label     the model, for its loop thread's name
     */
    TextGenerator(TextEncoder encoder, Path repo, int sequences, String label) {
        this.encoder = encoder;
        this.session = encoder.session();
        Set<String> inputs = session.getInputNames();
        for (int layer = 0; inputs.contains("past_key_values." + layer + ".key"); layer++) {
            for (String kv : List.of("key", "value")) {
                String past = "past_key_values." + layer + "." + kv;
                String present = "present." + layer + "." + kv;
                if (!inputs.contains(past) || !session.getOutputNames().contains(present)) {
                    throw new ProblemException(ProblemType.INVALID_MODEL, "the export takes past_key_values."
                            + layer + " but does not pair each past with its present." + layer + ".key/value output");
                }
                pastNames.add(past);
                presentNames.add(present);
            }
        }
        if (pastNames.isEmpty()) {
            throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "the ONNX export takes no past key/values, "
                    + "so each token would re-run the whole text; export it with them (optimum-cli export onnx "
                    + "--task text-generation-with-past, decoder_model_merged.onnx or a model.onnx with "
                    + "past_key_values.N.key/value inputs)");
        }
        if (!session.getOutputNames().contains(LOGITS)) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "a text-generation export answers logits");
        }
        this.takesPositions = inputs.contains(POSITION_IDS);
        this.cacheBranch = inputs.contains(USE_CACHE_BRANCH);
        long[] pastShape = inputShape(pastNames.getFirst());
        long[] logitsShape = outputShape(LOGITS);
        if (pastShape.length != 4 || pastShape[1] <= 0 || pastShape[3] <= 0 || logitsShape.length != 3
                || logitsShape[2] <= 0) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the export's past key/values are not [batch, heads, "
                    + "past tokens, head size] with fixed heads and head size, or its logits not [batch, tokens, vocabulary]");
        }
        this.heads = pastShape[1];
        this.headSize = pastShape[3];
        this.vocabulary = (int) logitsShape[2];
        this.context = encoder.config().maxLength();
        JsonNode generation = readJson(repo.resolve("generation_config.json"));
        JsonNode config = readJson(repo.resolve("config.json"));
        Set<Long> eosIds = new LinkedHashSet<>();
        JsonNode eosNode = generation.has("eos_token_id") ? generation.get("eos_token_id") : config.path("eos_token_id");
        if (eosNode.isIntegralNumber()) {
            eosIds.add(eosNode.asLong());
        }
        eosNode.forEach(n -> {
            if (n.isIntegralNumber()) {
                eosIds.add(n.asLong());
            }
        });
        this.eos = Set.copyOf(eosIds);
        int configured = generation.path("max_new_tokens").asInt(DEFAULT_MAX_NEW_TOKENS);
        this.defaultMaxNewTokens = configured > 0 ? Math.min(configured, context) : DEFAULT_MAX_NEW_TOKENS;
        this.defaultDoSample = generation.path("do_sample").asBoolean(false);
        this.chat = ChatTemplate.of(repo);
        this.spare = new FloatBuffer[pastNames.size()];
        this.loop = new DecodeLoop(this, sequences, label);
    }

    private long[] inputShape(String name) {
        try {
            NodeInfo info = session.getInputInfo().get(name);
            return info.getInfo() instanceof TensorInfo t ? t.getShape() : new long[0];
        } catch (OrtException e) {
            return new long[0];
        }
    }

    private long[] outputShape(String name) {
        return encoder.outputShape(name).orElse(new long[0]);
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode node = JSON.readTree(Files.readAllBytes(file));
            return node != null && node.isObject() ? node : JSON.createObjectNode();
        } catch (NoSuchFileException e) {
            return JSON.createObjectNode();
        } catch (IOException e) {
            throw new ProblemException(ProblemType.INVALID_MODEL, file.getFileName() + " is not valid JSON");
        }
    }

    @Override
    public String name() {
        return "text-generation";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return List.of();
    }

    @Override
    public boolean batchable() {
        return false;
    }

    /** The most tokens prompt and continuation may have together (config.json's n_positions). */
    @Override
    public int context() {
        return context;
    }

    /** A call's parameters read and checked; each bad one is a 422 naming /parameters/{name}. */
    @Override
    public Settings settings(Parameters parameters) {
        TaskParameters p = new TaskParameters(name(), PARAMETERS, parameters);
        Long seed = p.has("seed") ? (long) p.integer("seed", 0, Integer.MAX_VALUE, 0) : null;
        return new Settings(p.integer("max_new_tokens", 1, context, Math.min(defaultMaxNewTokens, context)),
                p.bool("do_sample", defaultDoSample), p.decimal("temperature", 0, 100, 1.0),
                p.integer("top_k", 0, Integer.MAX_VALUE, 0), p.decimal("top_p", 0, 1, 1.0),
                p.decimal("repetition_penalty", 0, 100, 1.0), seed, p.list("stop", MAX_STOP_STRINGS).orElse(List.of()),
                p.bool("return_full_text", true), p.has("logprobs") ? p.integer("logprobs", 0, MAX_LOGPROBS, 0) : -1,
                p.bool("chat", false));
    }

    /**
     * The prompt's ids (a conversation rendered with the chat template first), refused (422 naming
     * the limit) where they leave no room in the context.
     */
    long[] promptIds(String text, String pointer, Settings settings) {
        String prompt = settings.chat() ? chat.render(text, pointer) : text;
        long[] ids = encoder.encodePlain(prompt).getIds();
        if (ids.length >= context) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, pointer, "the prompt is " + ids.length
                    + " tokens; the model's context is " + context + " tokens, prompt and generated text together");
        }
        if (ids.length == 0) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, pointer, "the prompt is empty; send some text to continue");
        }
        return ids;
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        Settings settings = settings(parameters);
        List<String> texts = TextColumn.read(inputs, TEXT, false).requireTexts().values();
        for (int i = 0; i < texts.size(); i++) {
            if (settings.chat()) {
                // a conversation is only read here: this may run on an event loop, and the tenant's
                // template renders on the decode loop's thread (its refusals fail the call as these do)
                ChatTemplate.messages(texts.get(i), "/inputs/" + i);
            } else {
                promptIds(texts.get(i), "/inputs/" + i, settings);
            }
        }
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        return join(submit(inputs, parameters, TokenSink.NONE));
    }

    /**
     * Starts a call on the decode loop (see {@link dev.serveml.runtime.LoadedModel.Scheduled}): its
     * rows are generated alongside every other call's, each row's tokens told to {@code sink} as
     * that row. Never blocks.
     */
    CompletableFuture<Map<String, Output>> submit(List<Tensor> inputs, Parameters parameters, TokenSink sink) {
        Settings settings;
        List<String> texts;
        try {
            settings = settings(parameters);
            texts = TextColumn.read(inputs, TEXT, false).values();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return loop.submit(texts, settings, sink).thenApply(generations -> answer(texts, settings, generations));
    }

    private static Map<String, Output> answer(List<String> texts, Settings settings, Generation[] generations) {
        List<byte[]> generated = new ArrayList<>(texts.size());
        ByteBuffer promptTokens = ByteBuffer.allocate(texts.size() * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer completionTokens = ByteBuffer.allocate(texts.size() * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> finishes = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            Generation g = generations[i];
            finishes.add(g.finish().name().toLowerCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            String text = settings.returnFullText() && !settings.chat() ? texts.get(i) + g.text() : g.text();
            generated.add(text.getBytes(StandardCharsets.UTF_8));
            promptTokens.putLong(g.promptIds().length);
            completionTokens.putLong(g.ids().length);
        }
        long[] shape = {texts.size()};
        return Map.of(GENERATED_TEXT, Tensor.ofBytes(GENERATED_TEXT, shape, generated),
                PROMPT_TOKENS, Tensor.of(PROMPT_TOKENS, DataType.INT64, shape, promptTokens.flip()),
                COMPLETION_TOKENS, Tensor.of(COMPLETION_TOKENS, DataType.INT64, shape, completionTokens.flip()),
                FINISH_REASON, Tensor.ofBytes(FINISH_REASON, shape, finishes));
    }

    private static <T> T join(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /**
     * Generates a continuation of {@code prompt} on the decode loop and waits for it. Blocking (one
     * model call per token, shared with the other sequences in flight): never on an event loop.
     *
     * @param pointer  where the prompt is in the request, for a 422
     * @param listener told each token as row 0; answering false ends the generation as {@link Finish#CANCELLED}
     */
    @Override
    public Generation generate(String prompt, String pointer, Settings settings, TokenSink listener) {
        promptIds(prompt, pointer, settings); // refused here, naming the caller's pointer
        return join(loop.submit(List.of(prompt), settings, listener))[0];
    }

    boolean isEos(long token) {
        return eos.contains(token);
    }

    String decode(long[] ids) {
        return encoder.decode(ids, true);
    }

    DecodeLoop.Counts loopCounts() {
        return loop.counts();
    }

    /** The most sequences its decode loop steps together. */
    int sequences() {
        return loop.capacity();
    }

    /** Whether a padded batch can be told each row's positions: the export takes position_ids. */
    boolean padsRows() {
        return takesPositions;
    }

    /** What a sink is told of a token: its log probability and the likeliest alternatives where asked. */
    TokenSink.Token token(long id, String delta, float[] logits, Settings settings, boolean isEos, boolean last) {
        if (settings.logprobs() < 0) {
            // the piece only where a route shows it: a decode per token otherwise
            return new TokenSink.Token(id, delta, isEos ? encoder.decode(new long[]{id}, false) : "", Double.NaN,
                    List.of(), isEos, last);
        }
        String piece = encoder.decode(new long[]{id}, false);
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double logZ = max + Math.log(sum);
        List<TokenSink.Alternative> top = new ArrayList<>(settings.logprobs());
        if (settings.logprobs() > 0) {
            // a partial selection: k passes over the vocabulary, k at most 20
            boolean[] taken = new boolean[logits.length];
            for (int k = 0; k < Math.min(settings.logprobs(), logits.length); k++) {
                int best = -1;
                for (int i = 0; i < logits.length; i++) {
                    if (!taken[i] && (best < 0 || logits[i] > logits[best])) {
                        best = i;
                    }
                }
                taken[best] = true;
                top.add(new TokenSink.Alternative(best, encoder.decode(new long[]{best}, false), logits[best] - logZ));
            }
        }
        return new TokenSink.Token(id, delta, piece, logits[(int) id] - logZ, top, isEos, last);
    }

    /**
     * A model call's answer, or a past rebuilt for a new set of sequences: the presents the next
     * call takes as its past ([rows, heads, width, head size] each, left-padded), and the logits.
     */
    static final class Step implements AutoCloseable {
        private final OrtSession.Result result; // null for a rebuilt past
        private final OnnxTensor[] presents;
        private final int rows;
        private final FloatBuffer[] buffers; // a rebuilt past's, handed back on close
        private final java.util.function.Consumer<FloatBuffer[]> release;
        private float[] logits; // read once, on first use

        private Step(OrtSession.Result result, OnnxTensor[] presents, int rows, FloatBuffer[] buffers,
                     java.util.function.Consumer<FloatBuffer[]> release) {
            this.result = result;
            this.presents = presents;
            this.rows = rows;
            this.buffers = buffers;
            this.release = release;
        }

        int rows() {
            return rows;
        }

        @Override
        public void close() {
            if (result != null) {
                result.close();
            } else {
                for (OnnxTensor t : presents) {
                    t.close();
                }
                release.accept(buffers);
            }
        }
    }

    /**
     * One model call for {@code tokens.length} rows of as many new tokens each, after a past
     * {@code width} wide (left-padded) in which row b has {@code pasts[b]} tokens; {@code previous}
     * holds it (null for none: width 0).
     */
    Step run(long[][] tokens, int[] pasts, int width, Step previous) {
        int rows = tokens.length;
        int q = tokens[0].length;
        Map<String, OnnxTensor> feed = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            var env = encoder.environment();
            long[] shape = {rows, q};
            long[] ids = new long[rows * q];
            long[] mask = new long[rows * (width + q)];
            long[] positions = new long[rows * q];
            for (int b = 0; b < rows; b++) {
                System.arraycopy(tokens[b], 0, ids, b * q, q);
                Arrays.fill(mask, b * (width + q) + (width - pasts[b]), (b + 1) * (width + q), 1);
                for (int i = 0; i < q; i++) {
                    positions[b * q + i] = pasts[b] + i;
                }
            }
            owned.add(put(feed, TextEncoder.INPUT_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape)));
            owned.add(put(feed, TextEncoder.ATTENTION_MASK,
                    OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[]{rows, width + q})));
            if (takesPositions) {
                owned.add(put(feed, POSITION_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(positions), shape)));
            }
            if (cacheBranch) {
                owned.add(put(feed, USE_CACHE_BRANCH, OnnxTensor.createTensor(env, new boolean[]{previous != null})));
            }
            for (int i = 0; i < pastNames.size(); i++) {
                if (previous == null) {
                    owned.add(put(feed, pastNames.get(i), OnnxTensor.createTensor(env, FloatBuffer.allocate(0),
                            new long[]{rows, heads, 0, headSize})));
                } else {
                    feed.put(pastNames.get(i), previous.presents[i]);
                }
            }
            Set<String> wanted = new LinkedHashSet<>();
            wanted.add(LOGITS);
            wanted.addAll(presentNames);
            OrtSession.Result result = session.run(feed, wanted);
            OnnxTensor[] presents = new OnnxTensor[presentNames.size()];
            for (int i = 0; i < presents.length; i++) {
                presents[i] = (OnnxTensor) result.get(presentNames.get(i)).orElseThrow();
            }
            return new Step(result, presents, rows, null, null);
        } catch (OrtException e) {
            throw new ProblemException(ProblemType.INFERENCE_FAILED, "ONNX Runtime could not run the model", e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor put(Map<String, OnnxTensor> feed, String name, OnnxTensor t) {
        feed.put(name, t);
        return t;
    }

    /** The logits of row {@code row}'s last token in a call of {@code tokens} new tokens per row. */
    float[] logits(Step step, int row, int tokens) {
        if (step.logits == null) {
            OnnxTensor t = (OnnxTensor) step.result.get(LOGITS).orElseThrow();
            FloatBuffer buffer = t.getFloatBuffer();
            if (buffer == null || buffer.remaining() != (long) step.rows * tokens * vocabulary) {
                throw new ProblemException(ProblemType.MODEL_ERROR, "the model's logits are not FP32 [batch, tokens, "
                        + vocabulary + "]");
            }
            step.logits = new float[buffer.remaining()];
            buffer.get(step.logits);
        }
        float[] last = new float[vocabulary];
        System.arraycopy(step.logits, (row * tokens + tokens - 1) * vocabulary, last, 0, vocabulary);
        return last;
    }

    /**
     * Where one row of a new past comes from: row {@code row} of {@code step} (its last
     * {@code length} positions of the step's {@code width}).
     */
    record Source(Step step, int row, int width, int length) {
    }

    /**
     * A past for a new set of rows, each copied from where its cache is (the last call's presents,
     * or its own prefill), left-padded to {@code width}: one copy out of ONNX Runtime per source
     * step and layer, one into a direct buffer the tensor uses as it is. The buffers are reused
     * from one rebuild to the next (the loop's thread alone builds them); the padding is zeroed,
     * since masked positions must still hold finite numbers.
     */
    Step assemble(List<Source> rows, int width) {
        int h = (int) heads;
        int d = (int) headSize;
        int n = rows.size();
        OnnxTensor[] past = new OnnxTensor[pastNames.size()];
        FloatBuffer[] buffers = new FloatBuffer[past.length];
        Map<Step, FloatBuffer> copied = new HashMap<>();
        try {
            for (int i = 0; i < past.length; i++) {
                int size = n * h * width * d;
                FloatBuffer buffer = spare[i] != null && spare[i].capacity() >= size ? spare[i]
                        : ByteBuffer.allocateDirect(size * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
                spare[i] = null;
                buffers[i] = buffer;
                copied.clear();
                for (int b = 0; b < n; b++) {
                    Source src = rows.get(b);
                    int layer = i;
                    FloatBuffer from = copied.computeIfAbsent(src.step(), st -> st.presents[layer].getFloatBuffer());
                    int pad = width - src.length();
                    for (int head = 0; head < h; head++) {
                        int to = ((b * h + head) * width) * d;
                        for (int z = to; z < to + pad * d; z++) {
                            buffer.put(z, 0f);
                        }
                        int at = ((src.row() * h + head) * src.width() + (src.width() - src.length())) * d;
                        buffer.put(to + pad * d, from, at, src.length() * d);
                    }
                }
                past[i] = OnnxTensor.createTensor(encoder.environment(), buffer.duplicate().position(0).limit(size)
                        .slice(), new long[]{n, heads, width, headSize});
            }
            return new Step(null, past, n, buffers, this::keepSpare);
        } catch (OrtException e) {
            for (OnnxTensor t : past) {
                if (t != null) {
                    t.close();
                }
            }
            throw new ProblemException(ProblemType.INFERENCE_FAILED, "ONNX Runtime could not take the cache", e);
        }
    }

    /** Takes back a rebuilt past's buffers once its tensors are closed, for the next rebuild. */
    private void keepSpare(FloatBuffer[] buffers) {
        for (int i = 0; i < buffers.length; i++) {
            if (spare[i] == null || spare[i].capacity() < buffers[i].capacity()) {
                spare[i] = buffers[i];
            }
        }
    }

    /** The next token: greedy, or a draw after Hugging Face's logits processors in its order. */
    static long choose(float[] logits, Settings s, Set<Long> seen, SplittableRandom random) {
        if (!s.doSample() && s.repetitionPenalty() == 1.0) {
            int best = 0; // greedy as it is: the first highest logit, as torch's argmax
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        double[] scores = new double[logits.length];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = logits[i];
        }
        if (s.repetitionPenalty() != 1.0) {
            for (long id : seen) {
                if (id >= 0 && id < scores.length) {
                    int i = (int) id;
                    scores[i] = scores[i] < 0 ? scores[i] * s.repetitionPenalty() : scores[i] / s.repetitionPenalty();
                }
            }
        }
        if (!s.doSample()) {
            int best = 0;
            for (int i = 1; i < scores.length; i++) {
                if (scores[i] > scores[best]) {
                    best = i;
                }
            }
            return best;
        }
        int n = scores.length;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            scores[i] /= s.temperature();
            max = Math.max(max, scores[i]);
        }
        double[] p = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(scores[i] - max);
            total += p[i];
        }
        if (s.topK() == 0 && s.topP() >= 1.0) {
            return draw(p, null, n, total, random); // nothing filtered: no order needed
        }
        // Only the likeliest tokens are put in order: as many as top k keeps (with its ties), or
        // for top p alone a few, more when they do not add up to it (a vocabulary of 50k is never
        // sorted for a nucleus of a dozen).
        int[] order;
        double base;
        if (s.topK() > 0) {
            order = likeliest(scores, Math.min(s.topK(), n), true);
            base = 0;
            for (int i : order) {
                base += p[i];
            }
        } else {
            order = null;
            base = total;
        }
        int keep = order == null ? 0 : order.length;
        if (s.topP() < 1.0) {
            for (int want = 64; ; want *= 4) {
                int[] ranked = order != null ? order : likeliest(scores, Math.min(want, n), false);
                double cumulative = 0;
                int within = -1;
                for (int i = 0; i < ranked.length; i++) {
                    cumulative += p[ranked[i]] / base;
                    if (cumulative >= s.topP()) {
                        within = i + 1;
                        break;
                    }
                }
                if (within > 0 || order != null || ranked.length == n) {
                    order = ranked;
                    keep = within > 0 ? within : ranked.length;
                    break;
                }
            }
        }
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            sum += p[order[i]];
        }
        return draw(p, order, keep, sum, random);
    }

    /** A draw among {@code order}'s first {@code keep} tokens (all of them, in id order, when null). */
    private static long draw(double[] p, int[] order, int keep, double sum, SplittableRandom random) {
        double u = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            int id = order == null ? i : order[i];
            u -= p[id];
            if (u < 0) {
                return id;
            }
        }
        for (int i = keep - 1; i >= 0; i--) { // rounding left u at the end: the last token that can be drawn
            int id = order == null ? i : order[i];
            if (p[id] > 0) {
                return id;
            }
        }
        return order == null ? 0 : order[0];
    }

    /**
     * The {@code m} highest-scoring token ids, best first, ties by lower id; with {@code ties},
     * every further token tied with the last one too (Hugging Face's top k keeps them). A heap of
     * {@code m}: O(vocabulary log m).
     */
    static int[] likeliest(double[] scores, int m, boolean ties) {
        int[] heap = new int[m]; // a min-heap by goodness: the root is the worst kept so far
        int size = 0;
        for (int i = 0; i < scores.length; i++) {
            if (size < m) {
                heap[size] = i;
                int c = size++;
                while (c > 0 && better(scores, heap[(c - 1) / 2], heap[c])) {
                    int parent = (c - 1) / 2;
                    int t = heap[parent];
                    heap[parent] = heap[c];
                    heap[c] = t;
                    c = parent;
                }
            } else if (better(scores, i, heap[0])) {
                heap[0] = i;
                siftDown(scores, heap, size);
            }
        }
        int[] sorted = new int[size];
        for (int k = size - 1; k >= 0; k--) {
            sorted[k] = heap[0];
            heap[0] = heap[--size];
            siftDown(scores, heap, size);
        }
        if (!ties || sorted.length == 0) {
            return sorted;
        }
        double last = scores[sorted[sorted.length - 1]];
        int lastId = sorted[sorted.length - 1];
        int[] out = sorted;
        int count = sorted.length;
        for (int i = lastId + 1; i < scores.length; i++) {
            if (scores[i] == last) {
                if (count == out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                }
                out[count++] = i;
            }
        }
        return Arrays.copyOf(out, count);
    }

    /** Whether token a ranks before token b: a higher score, or the same and a lower id. */
    private static boolean better(double[] scores, int a, int b) {
        return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    }

    private static void siftDown(double[] scores, int[] heap, int size) {
        int c = 0;
        while (true) {
            int l = 2 * c + 1;
            int r = l + 1;
            int worst = c;
            if (l < size && better(scores, heap[worst], heap[l])) {
                worst = l;
            }
            if (r < size && better(scores, heap[worst], heap[r])) {
                worst = r;
            }
            if (worst == c) {
                return;
            }
            int t = heap[c];
            heap[c] = heap[worst];
            heap[worst] = t;
            c = worst;
        }
    }

    @Override
    public void close() {
        loop.close();
        encoder.close();
    }
}
