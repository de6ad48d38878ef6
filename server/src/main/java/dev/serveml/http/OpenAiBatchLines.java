package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.auth.Principal;
import dev.serveml.inference.NativeRequest;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.jobs.RequestLines;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The lines of an OpenAI batch ({@code {custom_id, method, url, body}}), decoded and answered with
 * the codecs of the routes they name, so that a line answers exactly what its route would: the
 * native predict routes ({@code /api/v1/models/{name}[/versions/{v}]/predict},
 * {@code /api/v1/deployments/{name}/predict}), {@code /v1/embeddings}, {@code /v1/chat/completions}
 * and {@code /v1/completions} (answered whole: a line may not ask to stream). Output and error lines are
 * OpenAI's: {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}},
 * a failed call's status and body what its route would answer (OpenAI's error on /v1, a problem on
 * the native routes); a line that is not a request at all (unreadable, no
 * {@code custom_id}, a route not served) has {@code "response": null} and {@code "error": {code, message}}.
 */
public final class OpenAiBatchLines implements RequestLines {
    static final String EMBEDDINGS = "/v1/embeddings";
    static final String CHAT = "/v1/chat/completions";
    static final String COMPLETIONS = "/v1/completions";
    private static final Pattern MODEL = Pattern.compile("/api/v1/models/([^/?]+)(?:/versions/(\\d{1,9}))?/predict");
    private static final Pattern DEPLOYMENT = Pattern.compile("/api/v1/deployments/([^/?]+)/predict");
    private static final int MAX_CUSTOM_ID = 512;
    /** The routes a line may name, in words. */
    static final String ROUTES = CHAT + ", " + COMPLETIONS + ", " + EMBEDDINGS + ", /api/v1/models/{name}/predict or "
            + "/api/v1/deployments/{name}/predict";

    private final Predictor predictor;
    private final ObjectMapper json;

    public OpenAiBatchLines(Predictor predictor, ObjectMapper json) {
        this.predictor = predictor;
        this.json = json;
    }

    /** Whether a batch may name this route as its endpoint (or a line as its url). */
    static boolean serves(String url) {
        return EMBEDDINGS.equals(url) || CHAT.equals(url) || COMPLETIONS.equals(url) || MODEL.matcher(url).matches()
                || DEPLOYMENT.matcher(url).matches();
    }

    /** The envelope of a line: what makes it a request at all. */
    private record Envelope(String customId, String url, JsonNode body) {
    }

    private static Envelope envelope(Map<String, JsonNode> fields) {
        JsonNode id = fields.get("custom_id");
        if (id == null || !id.isTextual() || id.textValue().isEmpty() || id.textValue().length() > MAX_CUSTOM_ID) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/custom_id", "each line needs a 'custom_id': "
                    + "a string of 1 to " + MAX_CUSTOM_ID + " characters");
        }
        JsonNode method = fields.get("method");
        if (method == null || !"POST".equals(method.textValue())) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/method", "'method' must be \"POST\"");
        }
        JsonNode url = fields.get("url");
        if (url == null || !url.isTextual() || !serves(url.textValue())) {
            throw ProblemException.field(ProblemType.ROUTE_NOT_FOUND, "/url", "'url' must be " + ROUTES + "; got "
                    + (url == null ? "none" : url.toString()));
        }
        JsonNode body = fields.get("body");
        if (body == null || !body.isObject()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/body", "'body' must be the request's JSON object");
        }
        return new Envelope(id.textValue(), url.textValue(), body);
    }

    @Override
    public Call decode(Principal caller, String jobId, long line, Map<String, JsonNode> fields) {
        Envelope e = envelope(fields);
        long started = System.nanoTime();
        if (e.url().equals(EMBEDDINGS)) {
            OpenAiHandler.EmbeddingsRequest request = OpenAiHandler.EmbeddingsRequest.of(e.body());
            Predictor.Route route = predictor.route(caller, new Target.Named(request.model()));
            PredictRequest predict = PredictRequest.of(caller, route.target(), OpenAiHandler.binder(request))
                    .withOutputs(OpenAiHandler.EMBEDDINGS_OUTPUTS);
            return call(jobId, line, e, predict, p -> OpenAiHandler.EmbeddingsAnswer.of(request, p)::write);
        }
        if (e.url().equals(CHAT) || e.url().equals(COMPLETIONS)) {
            return generation(caller, jobId, line, e);
        }
        NativeRequest request = NativeRequest.of(e.body());
        if (request.stream()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream", "a batch line is answered whole; "
                    + "leave out \"stream\"");
        }
        Matcher model = MODEL.matcher(e.url());
        Target target;
        String deployment = null;
        if (model.matches()) {
            target = new Target.Model(model.group(1), Optional.ofNullable(model.group(2)).map(Integer::valueOf));
        } else {
            Matcher d = DEPLOYMENT.matcher(e.url());
            d.matches();
            Predictor.Route route = predictor.route(caller, new Target.Deployment(d.group(1)));
            target = route.target();
            deployment = route.deployment().orElseThrow().name();
        }
        String called = deployment;
        PredictRequest predict = PredictRequest.of(caller, target, request::bind).withParameters(request.parameters());
        return call(jobId, line, e, predict, p -> g -> PredictHandler.writeAnswer(g, request, p.result(), called,
                System.nanoTime() - started));
    }

    /** A chat or text completion: the route's request, generation and answer, whole (never streamed). */
    private Call generation(Principal caller, String jobId, long line, Envelope e) {
        CompletionsHandler.Generation generation;
        CompletionsHandler.Answer answer;
        if (e.url().equals(CHAT)) {
            ChatCompletionsHandler.ChatRequest request = ChatCompletionsHandler.ChatRequest.of(e.body());
            generation = request.generation();
            answer = (g, rows, outcome) -> ChatCompletionsHandler.write(g, request, rows, outcome);
        } else {
            CompletionsHandler.CompletionsRequest request = CompletionsHandler.CompletionsRequest.of(e.body());
            generation = request.generation();
            answer = (g, rows, outcome) -> CompletionsHandler.write(g, request, rows, outcome);
        }
        if (generation.sampling().stream()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream", "a batch line is answered whole; "
                    + "leave out \"stream\"");
        }
        Predictor.Route route = predictor.route(caller, new Target.Named(generation.model()));
        CompletionRows rows = CompletionsHandler.rows(generation, null);
        PredictRequest predict = CompletionsHandler.sampled(PredictRequest.of(caller, route.target(),
                CompletionsHandler.binder(generation)), generation, rows);
        return call(jobId, line, e, predict, p -> CompletionsHandler.answer(p, generation, rows, answer));
    }

    /** How a route's answer is written, once the model has answered (throws for an answer it cannot give). */
    private interface Encoder {
        Responses.JsonWriter encode(Prediction prediction);
    }

    private Call call(String jobId, long line, Envelope e, PredictRequest predict, Encoder encoder) {
        return new Call() {
            @Override
            public PredictRequest request() {
                return predict;
            }

            @Override
            public String answered(Prediction prediction) {
                Responses.JsonWriter body = encoder.encode(prediction);
                return write(g -> {
                    g.writeStartObject();
                    g.writeStringField("id", lineId(jobId, line));
                    g.writeStringField("custom_id", e.customId());
                    g.writeObjectFieldStart("response");
                    g.writeNumberField("status_code", 200);
                    g.writeStringField("request_id", requestId());
                    g.writeFieldName("body");
                    body.write(g);
                    g.writeEndObject();
                    g.writeNullField("error");
                    g.writeEndObject();
                });
            }
        };
    }

    @Override
    public String failed(String jobId, long line, Map<String, JsonNode> fields, ProblemException refused) {
        Envelope e;
        try {
            e = envelope(fields);
        } catch (ProblemException notARequest) {
            JsonNode id = fields.get("custom_id");
            return write(g -> {
                g.writeStartObject();
                g.writeStringField("id", lineId(jobId, line));
                if (id != null && id.isTextual()) {
                    g.writeStringField("custom_id", id.textValue());
                } else {
                    g.writeNullField("custom_id");
                }
                g.writeNullField("response");
                g.writeObjectFieldStart("error");
                g.writeStringField("code", refused.type().code());
                g.writeStringField("message", "line " + line + ": " + refused.detail());
                g.writeEndObject();
                g.writeEndObject();
            });
        }
        // The body its route would have answered: OpenAI's error on /v1, a problem on the native routes.
        boolean openAi = e.url().startsWith("/v1/");
        String pointer = e.url().equals(CHAT) ? "/messages" : e.url().equals(COMPLETIONS) ? "/prompt" : null;
        ProblemException problem = pointer != null
                && CompletionsHandler.withPointer(refused, pointer) instanceof ProblemException p ? p : refused;
        String requestId = requestId();
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("id", lineId(jobId, line));
            g.writeStringField("custom_id", e.customId());
            g.writeObjectFieldStart("response");
            g.writeNumberField("status_code", openAi ? Problems.openAiStatus(problem.type()) : problem.type().status());
            g.writeStringField("request_id", requestId);
            g.writeFieldName("body");
            if (openAi) {
                Problems.writeOpenAi(g, problem);
            } else {
                Problems.write(g, problem, e.url(), requestId);
            }
            g.writeEndObject();
            g.writeNullField("error");
            g.writeEndObject();
        });
    }

    /** A line's id within its batch, the same on every try of its chunk. */
    static String lineId(String jobId, long line) {
        return "batch_req_" + UUID.nameUUIDFromBytes((jobId + "\n" + line).getBytes(StandardCharsets.UTF_8))
                .toString().replace("-", "");
    }

    private static String requestId() {
        return "req_" + UUID.randomUUID().toString().replace("-", "");
    }

    private String write(Responses.JsonWriter writer) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = json.getFactory().createGenerator(out)) {
            writer.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a batch line", e);
        }
        return out.toString();
    }
}
