package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Scope;
import dev.serveml.inference.CacheStatus;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * OpenAI's legacy {@code POST /v1/completions} for a text-generation model, through the one way in
 * like every predict route: the request becomes the model's Hugging Face parameters and its answer
 * OpenAI's {@code text_completion}; {@code "stream": true} answers Server-Sent Events chunks as
 * OpenAI sends them, ending {@code data: [DONE]} (with a usage chunk first where
 * {@code stream_options.include_usage} asks), and a client that leaves stops its generation. The
 * mapping to the generator's parameters ({@link Sampling}) and the generation itself
 * ({@link #generate}) are shared with {@link ChatCompletionsHandler}.
 *
 * <p>Mapping: {@code max_tokens} (OpenAI's default 16) → {@code max_new_tokens}; {@code temperature}
 * 0 → greedy, else sampling with {@code temperature} and {@code top_p} (OpenAI's defaults are 1 and
 * 1: sampling); {@code seed}; {@code stop} (a string or up to 4) — the returned text ends before the
 * stop string, as OpenAI's does (Hugging Face keeps it); {@code echo} → the prompt first;
 * {@code n} completions per prompt (choices indexed prompt by prompt). {@code finish_reason} is
 * {@code stop} for an end-of-sequence token or a stop string, {@code length} when
 * {@code max_tokens} ran out. {@code logprobs} (0 to 5) answers each token's log probability and
 * that many alternatives in the legacy shape (tokens, token_logprobs, top_logprobs, text_offset).
 */
final class CompletionsHandler {
    static final int MAX_PROMPTS = 64;
    static final int MAX_N = 16;
    static final int MAX_STOPS = 4;
    static final int MAX_LEGACY_LOGPROBS = 5;
    private static final Set<String> FIELDS = Set.of("model", "prompt", "max_tokens", "temperature", "top_p", "seed",
            "stop", "n", "echo", "stream", "stream_options", "user", "logprobs", "presence_penalty", "frequency_penalty",
            "best_of", "suffix", "logit_bias");

    private final Predictor predictor;
    private final Responses responses;

    CompletionsHandler(Predictor predictor, Responses responses) {
        this.predictor = predictor;
        this.responses = responses;
    }

    Responses responses() {
        return responses;
    }

    void register(HttpApi api) {
        api.jsonRoute(HttpMethod.POST, "/v1/completions", Access.scope(Scope.PREDICT), this::completions);
        new ChatCompletionsHandler(this).register(api);
    }

    /**
     * What both routes ask of the generator, besides the texts.
     *
     * @param n            completions per prompt (the texts are already repeated n times)
     * @param logprobs     -1 for none; else each token's and this many alternatives
     * @param includeUsage a streamed answer's usage chunk ({@code stream_options.include_usage})
     * @param parameters   the generator's Hugging Face parameters
     */
    record Sampling(int n, List<String> stop, boolean stream, boolean includeUsage, int logprobs,
                    Parameters parameters) {
        Sampling {
            stop = List.copyOf(stop);
        }

        /**
         * The fields both routes share: temperature (0 greedy), top_p, seed, stop, n, stream,
         * stream_options, user and the penalties (0 only).
         *
         * @param maxTokens the most tokens to generate, or null for the model's own default
         * @param logprobs  -1 for none, else how many alternatives per token
         * @param chat      whether the texts are conversations for the chat template
         */
        static Sampling of(JsonNode body, Integer maxTokens, int logprobs, boolean chat) {
            boolean stream = truthy(body.get("stream"), "/stream");
            boolean includeUsage = false;
            JsonNode options = body.get("stream_options");
            if (options != null && !options.isNull()) {
                if (!stream) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream_options",
                            "'stream_options' is only allowed when 'stream' is true");
                }
                if (!options.isObject()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream_options",
                            "'stream_options' must be an object");
                }
                options.fieldNames().forEachRemaining(f -> {
                    if (!f.equals("include_usage")) {
                        throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream_options/" + pointerName(f),
                                "unknown field of stream_options");
                    }
                });
                includeUsage = truthy(options.get("include_usage"), "/stream_options/include_usage");
            }
            for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
                JsonNode v = body.get(penalty);
                if (v != null && !v.isNull() && !(v.isNumber() && v.doubleValue() == 0)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + penalty,
                            "'" + penalty + "' is not supported by this server (0 or absent only)");
                }
            }
            int n = whole(body.get("n"), "/n", 1, MAX_N, 1);
            double temperature = number(body.get("temperature"), "/temperature", 0, 2, 1);
            double topP = number(body.get("top_p"), "/top_p", 0, 1, 1);
            if (topP == 0) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/top_p", "'top_p' must be above 0");
            }
            List<String> stop = strings(body.get("stop"), "/stop", MAX_STOPS, false);
            JsonNode user = body.get("user");
            if (user != null && !user.isNull() && !user.isTextual()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/user", "'user' must be a string");
            }
            Map<String, Object> p = new LinkedHashMap<>();
            if (maxTokens != null) {
                p.put("max_new_tokens", (long) maxTokens);
            }
            p.put("return_full_text", false);
            if (temperature > 0) {
                p.put("do_sample", true);
                p.put("temperature", temperature);
                p.put("top_p", topP);
            }
            JsonNode seed = body.get("seed");
            if (seed != null && !seed.isNull()) {
                if (!seed.isIntegralNumber() || !seed.canConvertToLong() || seed.longValue() < 0) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/seed", "'seed' must be a whole number, 0 or more");
                }
                p.put("seed", seed.longValue());
            }
            if (!stop.isEmpty()) {
                p.put("stop", stop);
            }
            if (logprobs >= 0) {
                p.put("logprobs", (long) logprobs);
            }
            if (chat) {
                p.put("chat", true);
            }
            return new Sampling(n, stop, stream, includeUsage, logprobs, new Parameters(p));
        }
    }

    static String pointerName(String field) {
        return field.replace("~", "~0").replace("/", "~1");
    }

    /**
     * Every text times n, in order: the rows of the generation (choice i is row i).
     */
    static List<String> repeated(List<String> texts, int n) {
        List<String> out = new ArrayList<>(texts.size() * n);
        for (String text : texts) {
            for (int i = 0; i < n; i++) {
                out.add(text);
            }
        }
        return List.copyOf(out);
    }

    /**
     * What a completions request asks.
     *
     * @param prompts the prompts, each repeated {@code n} times in order
     */
    record CompletionsRequest(String model, List<String> prompts, boolean echo, Sampling sampling) {
        int n() {
            return sampling.n();
        }

        List<String> stop() {
            return sampling.stop();
        }

        Parameters parameters() {
            return sampling.parameters();
        }

        /** What it asks of the generator. */
        Generation generation() {
            return new Generation(model, prompts, sampling, false, echo ? prompts : List.of(), "/prompt");
        }

        static CompletionsRequest of(JsonNode body) {
            if (!body.isObject()) {
                throw new ProblemException(ProblemType.INVALID_REQUEST, "send a JSON object with 'model' and 'prompt'");
            }
            body.fieldNames().forEachRemaining(f -> {
                if (!FIELDS.contains(f)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + pointerName(f),
                            "unknown field for /v1/completions");
                }
            });
            String model = CompletionsHandler.model(body);
            List<String> prompts = strings(body.get("prompt"), "/prompt", MAX_PROMPTS, true);
            if (prompts.isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/prompt",
                        "'prompt' must be a string or a non-empty list of strings");
            }
            for (String unsupported : List.of("suffix", "best_of", "logit_bias")) {
                JsonNode v = body.get(unsupported);
                if (v != null && !v.isNull() && !(unsupported.equals("best_of") && v.isInt() && v.intValue() == 1)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + unsupported,
                            "'" + unsupported + "' is not supported by this server");
                }
            }
            JsonNode lp = body.get("logprobs");
            int logprobs = lp == null || lp.isNull() ? -1 : whole(lp, "/logprobs", 0, MAX_LEGACY_LOGPROBS, 0);
            int maxTokens = whole(body.get("max_tokens"), "/max_tokens", 1, Integer.MAX_VALUE, 16);
            JsonNode echo = body.get("echo");
            if (echo != null && !echo.isNull() && !echo.isBoolean()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/echo", "'echo' must be true or false");
            }
            boolean echoed = echo != null && echo.asBoolean(false);
            if (echoed && logprobs >= 0) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/logprobs",
                        "'logprobs' with 'echo' (the prompt's own log probabilities) is not supported by this server");
            }
            Sampling sampling = Sampling.of(body, maxTokens, logprobs, false);
            return new CompletionsRequest(model, repeated(prompts, sampling.n()), echoed, sampling);
        }

    }

    static String model(JsonNode body) {
        JsonNode model = body.get("model");
        if (model == null || !model.isTextual() || model.asText().isEmpty()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/model",
                    "'model' must be the name of a deployment or model (see GET /v1/models)");
        }
        return model.asText();
    }

    static boolean truthy(JsonNode v, String pointer) {
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "'" + pointer.substring(1).replace('/', '.')
                    + "' must be true or false");
        }
        return v.booleanValue();
    }

    static List<String> strings(JsonNode v, String pointer, int max, boolean required) {
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isTextual()) {
            if (v.asText().isEmpty() && required) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "the prompt must not be empty");
            }
            out.add(v.asText());
            return out;
        }
        if (!v.isArray() || v.size() > max) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "'" + pointer.substring(1)
                    + "' must be a string or a list of at most " + max + " strings");
        }
        for (int i = 0; i < v.size(); i++) {
            JsonNode x = v.get(i);
            if (!x.isTextual() || x.asText().isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer + "/" + i, x.isArray() || x.isNumber()
                        ? "token-id prompts are not accepted here; send the text itself" : "each must be a non-empty string");
            }
            out.add(x.asText());
        }
        return out;
    }

    static int whole(JsonNode v, String pointer, int min, int max, int fallback) {
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "'" + pointer.substring(1)
                    + "' must be a whole number from " + min + (max == Integer.MAX_VALUE ? " up" : " to " + max));
        }
        return v.intValue();
    }

    static double number(JsonNode v, String pointer, double min, double max, double fallback) {
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber() || v.doubleValue() < min || v.doubleValue() > max) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "'" + pointer.substring(1)
                    + "' must be a number from " + min + " to " + max);
        }
        return v.doubleValue();
    }

    private void completions(RoutingContext ctx) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        responses.decoded(ctx, () -> CompletionsRequest.of(responses.jsonBody(ctx)), request -> generate(ctx, timeout,
                request.generation(), (g, rows, outcome) -> write(g, request, rows, outcome)));
    }

    /**
     * One generation either route asks.
     *
     * @param texts   the rows' texts (prompts, or conversations as JSON), each repeated n times
     * @param echoes  each row's prompt to answer before its text, or an empty list
     * @param pointer where the texts are in the request, for a problem the model finds in one
     */
    record Generation(String model, List<String> texts, Sampling sampling, boolean chat, List<String> echoes,
                      String pointer) {
    }

    /**
     * What the model answered, per row: the text as OpenAI answers it (a stop string cut off),
     * OpenAI's finish reason; the tokens, a prompt repeated n times counted once.
     */
    record Outcome(List<String> texts, List<String> finishes, long promptTokens, long completionTokens) {
    }

    /** Writes a route's answer in one piece. */
    interface Answer {
        void write(JsonGenerator g, CompletionRows rows, Outcome outcome) throws IOException;
    }

    /**
     * Generates through the one way in and answers: in one piece by {@code answer}, or streamed as
     * Server-Sent Events (a client that leaves stops its rows; a failure before the first chunk is
     * an ordinary error answer, one after it OpenAI's error event). On the event loop.
     */
    void generate(RoutingContext ctx, Optional<Duration> timeout, Generation generation, Answer answer) {
        Predictor.Route route = predictor.route(HttpApi.principal(ctx), new Target.Named(generation.model()));
        Served served = HttpApi.serving(ctx, route.deployment().map(d -> Served.deployment(d.name(), d.modelName()))
                .orElseGet(() -> Served.model(generation.model())));
        LiveEvents live = generation.sampling().stream() ? new LiveEvents(ctx) : null;
        CompletionRows rows = rows(generation, live);
        PredictRequest predict = sampled(HttpApi.predictRequest(ctx, route.target(), timeout, binder(generation)),
                generation, rows);
        if (live == null) {
            predict(ctx, predict, served, generation.pointer(), prediction -> answer(ctx, prediction, generation, rows,
                    answer));
            return;
        }
        Future.fromCompletionStage(predictor.predict(predict), ctx.vertx().getOrCreateContext())
                .onComplete(done -> {
                    if (done.succeeded()) {
                        Prediction prediction = done.result();
                        served.cacheHit(prediction.result().cache() == CacheStatus.HIT);
                        prediction.afterDelivery().ifPresent(after -> ctx.addEndHandler(end -> after.run()));
                        Outcome outcome = outcome(prediction, generation);
                        if (outcome != null) {
                            rows.finish(outcome.texts(), outcome.finishes(), outcome.promptTokens(),
                                    outcome.completionTokens());
                            return;
                        }
                    }
                    Throwable failure = done.succeeded() ? new ProblemException(ProblemType.INFERENCE_FAILED,
                            "the model did not answer one completion per prompt") : done.cause();
                    if (!live.started()) {
                        ctx.fail(withPointer(failure, generation.pointer()));
                        return;
                    }
                    Throwable cause = failure instanceof java.util.concurrent.CompletionException
                            && failure.getCause() != null ? failure.getCause() : failure;
                    ProblemException problem = cause instanceof ProblemException p ? p : null;
                    rows.fail(problem == null ? "server_error" : Problems.openAiType(problem.type()),
                            problem == null ? ProblemType.INTERNAL.code() : problem.type().code(),
                            problem == null ? "the generation failed" : problem.detail());
                });
    }

    /** The rows a generation's tokens and answer go to; {@code live} the stream, or null for an answer in one piece. */
    static CompletionRows rows(Generation generation, LiveEvents live) {
        Sampling sampling = generation.sampling();
        return new CompletionRows(generation.chat(), generation.texts().size(), generation.model(), sampling.stop(),
                sampling.logprobs() >= 0, live, sampling.includeUsage(), generation.echoes());
    }

    /** The generation's texts as the generator's input, once its signature is known (400 for a model that does not generate). */
    static java.util.function.Function<dev.serveml.tensor.Signature, List<Tensor>> binder(Generation generation) {
        List<byte[]> texts = generation.texts().stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
        return signature -> {
            requireGeneration(signature, generation.model(), generation.chat());
            return List.of(Tensor.ofBytes("text", new long[]{texts.size()}, texts));
        };
    }

    /** A generation's call: its sampling parameters, and its rows told each token when they stream or keep log probabilities. */
    static PredictRequest sampled(PredictRequest request, Generation generation, CompletionRows rows) {
        PredictRequest sampled = request.withParameters(generation.sampling().parameters());
        return generation.sampling().stream() || generation.sampling().logprobs() >= 0 ? sampled.withSink(rows) : sampled;
    }

    /**
     * The answer in one piece, written by {@code answer}.
     *
     * @throws ProblemException {@code inference-failed} for a model that did not answer one completion per prompt
     */
    static Responses.JsonWriter answer(Prediction prediction, Generation generation, CompletionRows rows, Answer answer) {
        Outcome outcome = outcome(prediction, generation);
        if (outcome == null) {
            throw new ProblemException(ProblemType.INFERENCE_FAILED, "the model did not answer one completion per prompt");
        }
        return g -> answer.write(g, rows, outcome);
    }

    /**
     * {@link HttpApi#predict}, but a problem the model finds in a text names it where this route's
     * request has it ({@code messages}, {@code prompt}), not as the model's {@code inputs}.
     */
    private void predict(RoutingContext ctx, PredictRequest request, Served served, String pointer,
                         io.vertx.core.Handler<Prediction> send) {
        Future.fromCompletionStage(predictor.predict(request), ctx.vertx().getOrCreateContext())
                .onSuccess(prediction -> {
                    served.cacheHit(prediction.result().cache() == CacheStatus.HIT);
                    prediction.afterDelivery().ifPresent(after -> ctx.addEndHandler(done -> after.run()));
                    ctx.response().putHeader(HttpApi.X_CACHE, prediction.result().cache().label());
                    send.handle(prediction);
                })
                .onFailure(failure -> ctx.fail(withPointer(failure, pointer)));
    }

    private void answer(RoutingContext ctx, Prediction prediction, Generation generation, CompletionRows rows,
                        Answer answer) {
        Responses.JsonWriter writer;
        try {
            writer = answer(prediction, generation, rows, answer);
        } catch (ProblemException e) {
            ctx.fail(e);
            return;
        }
        responses.sendAnswer(ctx, 64L * generation.texts().size(), writer);
    }

    /** A problem the model found in its {@code /inputs/i}, named where the route's request has it. */
    static Throwable withPointer(Throwable failure, String pointer) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof ProblemException p && p.errors().size() == 1
                && p.errors().get(0).pointer().startsWith("/inputs/")) {
            return ProblemException.field(p.type(), pointer, p.errors().get(0).message());
        }
        return failure;
    }

    /** The answer's rows, or null where the model did not answer one per text. */
    private static Outcome outcome(Prediction prediction, Generation generation) {
        Map<String, Output> out = prediction.result().outputs();
        List<String> texts = strings(out.get("generated_text"));
        List<String> finishes = strings(out.get("finish_reason"));
        long[] promptTokens = longs(out.get("prompt_tokens"));
        long[] completionTokens = longs(out.get("completion_tokens"));
        int rows = generation.texts().size();
        if (texts.size() != rows || finishes.size() != rows || promptTokens.length != rows
                || completionTokens.length != rows) {
            return null;
        }
        List<String> cut = new ArrayList<>(rows);
        List<String> reasons = new ArrayList<>(rows);
        long prompt = 0;
        long completion = 0;
        int n = generation.sampling().n();
        for (int i = 0; i < rows; i++) {
            boolean stopped = finishes.get(i).equals("stop");
            cut.add(stopped ? withoutStop(texts.get(i), generation.sampling().stop()) : texts.get(i));
            reasons.add(finishes.get(i).equals("length") ? "length" : "stop");
            // a prompt repeated n times is counted once, as OpenAI counts it
            if (i % n == 0) {
                prompt += promptTokens[i];
            }
            completion += completionTokens[i];
        }
        return new Outcome(List.copyOf(cut), List.copyOf(reasons), prompt, completion);
    }

    /** A text-generation model ({@code text} in, {@code generated_text} out), or 400 for any other. */
    static void requireGeneration(Signature signature, String model, boolean chat) {
        boolean text = signature.inputs().size() == 1 && signature.inputs().get(0).name().equals("text");
        boolean generated = signature.outputs().stream().anyMatch(s -> s.name().equals("generated_text"))
                && signature.outputs().stream().anyMatch(s -> s.name().equals("finish_reason"));
        if (!text || !generated) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/model", "model '" + model
                    + "' is not a text-generation model; " + (chat ? "/v1/chat/completions" : "/v1/completions")
                    + " serves those only");
        }
    }

    static void write(JsonGenerator g, CompletionsRequest request, CompletionRows rows, Outcome outcome)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("id", rows.id());
        g.writeStringField("object", "text_completion");
        g.writeNumberField("created", rows.created());
        g.writeStringField("model", request.model());
        g.writeArrayFieldStart("choices");
        for (int i = 0; i < outcome.texts().size(); i++) {
            String text = outcome.texts().get(i);
            g.writeStartObject();
            g.writeStringField("text", request.echo() ? request.prompts().get(i) + text : text);
            g.writeNumberField("index", i);
            if (request.sampling().logprobs() >= 0) {
                CompletionRows.legacyLogprobs(g, CompletionRows.within(rows.tokens(i), text.length()), 0);
            } else {
                g.writeNullField("logprobs");
            }
            g.writeStringField("finish_reason", outcome.finishes().get(i));
            g.writeEndObject();
        }
        g.writeEndArray();
        CompletionRows.usage(g, outcome.promptTokens(), outcome.completionTokens());
        g.writeEndObject();
    }

    /** The text less the stop string it ends with (the model keeps it, as Hugging Face does; OpenAI does not). */
    static String withoutStop(String text, List<String> stop) {
        for (String s : stop) {
            if (text.endsWith(s)) {
                return text.substring(0, text.length() - s.length());
            }
        }
        return text;
    }

    private static List<String> strings(Output o) {
        List<String> out = new ArrayList<>();
        if (o instanceof Tensor t && t.datatype() == DataType.BYTES) {
            t.bytes().forEach(b -> out.add(new String(b, StandardCharsets.UTF_8)));
        }
        return out;
    }

    private static long[] longs(Output o) {
        if (!(o instanceof Tensor t) || t.datatype() != DataType.INT64) {
            return new long[0];
        }
        ByteBuffer data = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[data.remaining() / Long.BYTES];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.getLong();
        }
        return out;
    }
}
