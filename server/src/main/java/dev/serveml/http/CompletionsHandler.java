package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Scope;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Target;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * OpenAI's legacy {@code POST /v1/completions} for a text-generation model, through the one way in
 * like every predict route: the request becomes the model's Hugging Face parameters and its answer
 * OpenAI's {@code text_completion}. Not streamed yet: {@code "stream": true} is refused (400) rather
 * than answered in one piece, which a streaming client would misread.
 *
 * <p>Mapping: {@code max_tokens} (OpenAI's default 16) → {@code max_new_tokens}; {@code temperature}
 * 0 → greedy, else sampling with {@code temperature} and {@code top_p} (OpenAI's defaults are 1 and
 * 1: sampling); {@code seed}; {@code stop} (a string or up to 4) — the returned text ends before the
 * stop string, as OpenAI's does (Hugging Face keeps it); {@code echo} → the prompt first;
 * {@code n} completions per prompt (choices indexed prompt by prompt). {@code finish_reason} is
 * {@code stop} for an end-of-sequence token or a stop string, {@code length} when
 * {@code max_tokens} ran out.
 */
final class CompletionsHandler {
    static final int MAX_PROMPTS = 64;
    static final int MAX_N = 16;
    static final int MAX_STOPS = 4;
    private static final Set<String> FIELDS = Set.of("model", "prompt", "max_tokens", "temperature", "top_p", "seed",
            "stop", "n", "echo", "stream", "user", "logprobs", "presence_penalty", "frequency_penalty", "best_of",
            "suffix", "logit_bias");

    private final Predictor predictor;
    private final Responses responses;

    CompletionsHandler(Predictor predictor, Responses responses) {
        this.predictor = predictor;
        this.responses = responses;
    }

    void register(HttpApi api) {
        api.jsonRoute(HttpMethod.POST, "/v1/completions", Access.scope(Scope.PREDICT), this::completions);
    }

    /**
     * What a completions request asks.
     *
     * @param prompts the prompts, each repeated {@code n} times in order
     */
    record CompletionsRequest(String model, List<String> prompts, int n, List<String> stop, boolean echo,
                              Parameters parameters) {
        static CompletionsRequest of(JsonNode body) {
            if (!body.isObject()) {
                throw new ProblemException(ProblemType.INVALID_REQUEST, "send a JSON object with 'model' and 'prompt'");
            }
            body.fieldNames().forEachRemaining(f -> {
                if (!FIELDS.contains(f)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + f.replace("~", "~0").replace("/", "~1"),
                            "unknown field for /v1/completions");
                }
            });
            JsonNode model = body.get("model");
            if (model == null || !model.isTextual() || model.asText().isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/model",
                        "'model' must be the name of a deployment or model (see GET /v1/models)");
            }
            List<String> prompts = strings(body.get("prompt"), "/prompt", MAX_PROMPTS, true);
            if (prompts.isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/prompt",
                        "'prompt' must be a string or a non-empty list of strings");
            }
            if (truthy(body.get("stream"))) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream",
                        "streamed completions are not served yet; send \"stream\": false");
            }
            for (String unsupported : List.of("logprobs", "suffix", "best_of", "logit_bias")) {
                JsonNode v = body.get(unsupported);
                if (v != null && !v.isNull() && !(unsupported.equals("best_of") && v.isInt() && v.intValue() == 1)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + unsupported,
                            "'" + unsupported + "' is not supported by this server");
                }
            }
            for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
                JsonNode v = body.get(penalty);
                if (v != null && !v.isNull() && !(v.isNumber() && v.doubleValue() == 0)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + penalty,
                            "'" + penalty + "' is not supported by this server (0 or absent only)");
                }
            }
            int n = whole(body.get("n"), "/n", 1, MAX_N, 1);
            int maxTokens = whole(body.get("max_tokens"), "/max_tokens", 1, Integer.MAX_VALUE, 16);
            double temperature = number(body.get("temperature"), "/temperature", 0, 2, 1);
            double topP = number(body.get("top_p"), "/top_p", 0, 1, 1);
            if (topP == 0) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/top_p", "'top_p' must be above 0");
            }
            List<String> stop = strings(body.get("stop"), "/stop", MAX_STOPS, false);
            JsonNode echo = body.get("echo");
            if (echo != null && !echo.isNull() && !echo.isBoolean()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/echo", "'echo' must be true or false");
            }
            JsonNode user = body.get("user");
            if (user != null && !user.isNull() && !user.isTextual()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/user", "'user' must be a string");
            }
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("max_new_tokens", (long) maxTokens);
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
            List<String> repeated = new ArrayList<>(prompts.size() * n);
            for (String prompt : prompts) {
                for (int i = 0; i < n; i++) {
                    repeated.add(prompt);
                }
            }
            return new CompletionsRequest(model.asText(), List.copyOf(repeated), n, stop,
                    echo != null && echo.asBoolean(false), new Parameters(p));
        }

        private static boolean truthy(JsonNode v) {
            if (v == null || v.isNull()) {
                return false;
            }
            if (!v.isBoolean()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream", "'stream' must be true or false");
            }
            return v.booleanValue();
        }

        private static List<String> strings(JsonNode v, String pointer, int max, boolean required) {
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

        private static int whole(JsonNode v, String pointer, int min, int max, int fallback) {
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "'" + pointer.substring(1)
                        + "' must be a whole number from " + min + (max == Integer.MAX_VALUE ? " up" : " to " + max));
            }
            return v.intValue();
        }

        private static double number(JsonNode v, String pointer, double min, double max, double fallback) {
            if (v == null || v.isNull()) {
                return fallback;
            }
            if (!v.isNumber() || v.doubleValue() < min || v.doubleValue() > max) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer, "'" + pointer.substring(1)
                        + "' must be a number from " + min + " to " + max);
            }
            return v.doubleValue();
        }
    }

    private void completions(RoutingContext ctx) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        responses.decoded(ctx, () -> CompletionsRequest.of(responses.jsonBody(ctx)),
                request -> completions(ctx, timeout, request));
    }

    private void completions(RoutingContext ctx, Optional<Duration> timeout, CompletionsRequest request) {
        Predictor.Route route = predictor.route(HttpApi.principal(ctx), new Target.Named(request.model()));
        Served served = HttpApi.serving(ctx, route.deployment().map(d -> Served.deployment(d.name(), d.modelName()))
                .orElseGet(() -> Served.model(request.model())));
        List<byte[]> prompts = request.prompts().stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
        PredictRequest predict = HttpApi.predictRequest(ctx, route.target(), timeout, signature -> {
            requireGeneration(signature, request.model());
            return List.of(Tensor.ofBytes("text", new long[]{prompts.size()}, prompts));
        }).withParameters(request.parameters());
        HttpApi.predict(ctx, predictor, predict, served, prediction -> {
            Map<String, Output> out = prediction.result().outputs();
            List<String> texts = strings(out.get("generated_text"));
            List<String> finishes = strings(out.get("finish_reason"));
            long[] promptTokens = longs(out.get("prompt_tokens"));
            long[] completionTokens = longs(out.get("completion_tokens"));
            if (texts.size() != prompts.size() || finishes.size() != prompts.size()
                    || promptTokens.length != prompts.size() || completionTokens.length != prompts.size()) {
                ctx.fail(new ProblemException(ProblemType.INFERENCE_FAILED,
                        "the model did not answer one completion per prompt"));
                return;
            }
            String model = prediction.deployment().orElse(request.model());
            responses.sendAnswer(ctx, 64L * prompts.size(), g -> write(g, request, model, texts, finishes,
                    promptTokens, completionTokens));
        });
    }

    /** A text-generation model ({@code text} in, {@code generated_text} out), or 400 for any other. */
    static void requireGeneration(Signature signature, String model) {
        boolean text = signature.inputs().size() == 1 && signature.inputs().get(0).name().equals("text");
        boolean generated = signature.outputs().stream().anyMatch(s -> s.name().equals("generated_text"))
                && signature.outputs().stream().anyMatch(s -> s.name().equals("finish_reason"));
        if (!text || !generated) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/model", "model '" + model
                    + "' is not a text-generation model; /v1/completions serves those only");
        }
    }

    static void write(JsonGenerator g, CompletionsRequest request, String model, List<String> texts,
                      List<String> finishes, long[] promptTokens, long[] completionTokens) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", "cmpl-" + UUID.randomUUID().toString().replace("-", ""));
        g.writeStringField("object", "text_completion");
        g.writeNumberField("created", Instant.now().getEpochSecond());
        g.writeStringField("model", model);
        g.writeArrayFieldStart("choices");
        long prompt = 0;
        long completion = 0;
        for (int i = 0; i < texts.size(); i++) {
            boolean stopped = finishes.get(i).equals("stop");
            String text = stopped ? withoutStop(texts.get(i), request.stop()) : texts.get(i);
            g.writeStartObject();
            g.writeStringField("text", request.echo() ? request.prompts().get(i) + text : text);
            g.writeNumberField("index", i);
            g.writeNullField("logprobs");
            g.writeStringField("finish_reason", finishes.get(i).equals("length") ? "length" : "stop");
            g.writeEndObject();
            // a prompt repeated n times is counted once, as OpenAI counts it
            if (i % request.n() == 0) {
                prompt += promptTokens[i];
            }
            completion += completionTokens[i];
        }
        g.writeEndArray();
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeEndObject();
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
