package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.Deployments;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Target;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;

/**
 * The OpenAI-compatible routes under {@code /v1} that need no generation: the models list and
 * {@code POST /v1/embeddings} for any feature-extraction text model, so that the OpenAI SDKs work
 * unchanged with a ServeML API key as their bearer key. Every embedding goes through the
 * {@link Predictor} like the native and V2 routes (rate limits, quotas, deployments, the response
 * cache, serving statistics); errors are OpenAI's {@code {"error": {...}}} ({@link Problems}).
 */
final class OpenAiHandler {
    /** The embedding models' input and output, as the text runtime's feature-extraction task names them. */
    static final String TEXT = "text";
    static final String EMBEDDING = "embedding";
    /** The tokens each text took, by the model's own tokenizer (for {@code usage}). */
    static final String PROMPT_TOKENS = "prompt_tokens";
    /** Texts per call: OpenAI's own bound on {@code input}. */
    static final int MAX_INPUTS = 2048;

    private final ModelRegistry registry;
    private final Deployments deployments;
    private final Predictor predictor;
    private final Responses responses;

    OpenAiHandler(ModelRegistry registry, Deployments deployments, Predictor predictor, Responses responses) {
        this.registry = registry;
        this.deployments = deployments;
        this.predictor = predictor;
        this.responses = responses;
    }

    void register(HttpApi api) {
        // A key is required, not optional as on the native routes: OpenAI's clients always send one,
        // and an anonymous caller is told so (401) rather than listed the public models.
        Access access = Access.scope(Scope.PREDICT);
        api.jsonRoute(HttpMethod.POST, "/v1/embeddings", access, this::embeddings);
        api.route(HttpMethod.GET, "/v1/models", access, this::list);
        api.route(HttpMethod.GET, "/v1/models/:name", access, this::retrieve);
    }

    /** One entry of the models list. */
    private record Entry(String id, long created, String ownedBy) {
    }

    private void list(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> {
            List<Entry> entries = new ArrayList<>();
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (Deployment d : deployments.list(caller)) {
                if (seen.add(d.name())) {
                    entries.add(entry(caller, d));
                }
            }
            for (Model m : registry.listUsableModels(caller)) {
                // A deployment's name wins over a model's, as it does when predicting by name.
                if (seen.add(m.name())) {
                    entries.add(entry(caller, m));
                }
            }
            return entries;
        }, entries -> responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (Entry e : entries) {
                write(g, e);
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    private void retrieve(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("name");
        Optional<Deployment> deployment = deployments.find(caller, id);
        if (deployment.isPresent()) {
            Entry e = entry(caller, deployment.get());
            responses.send(ctx, 200, g -> write(g, e));
            return;
        }
        responses.blocking(ctx, () -> entry(caller, registry.requireServableModel(caller, id)),
                e -> responses.send(ctx, 200, g -> write(g, e)));
    }

    private static Entry entry(Principal caller, Deployment d) {
        return new Entry(d.name(), d.createdAt().getEpochSecond(), owner(caller, d.ownerId()));
    }

    private static Entry entry(Principal caller, Model m) {
        return new Entry(m.name(), m.createdAt().getEpochSecond(), owner(caller, m.ownerId()));
    }

    /** The caller's own name for theirs; others' (public models, an admin's view) are just the server's. */
    private static String owner(Principal caller, Long ownerId) {
        return ownerId != null && ownerId == caller.userId() ? caller.username() : "serveml";
    }

    private static void write(JsonGenerator g, Entry e) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", e.id());
        g.writeStringField("object", "model");
        g.writeNumberField("created", e.created());
        g.writeStringField("owned_by", e.ownedBy());
        g.writeEndObject();
    }

    /**
     * What an embeddings request asks.
     *
     * @param model      the deployment or model name
     * @param texts      the texts, in order
     * @param base64     whether the vectors go as base64 of little-endian float32, as OpenAI sends them
     * @param dimensions the size to truncate to, or 0 for the model's own
     */
    record EmbeddingsRequest(String model, List<String> texts, boolean base64, int dimensions) {
        static EmbeddingsRequest of(JsonNode body) {
            if (!body.isObject()) {
                throw new ProblemException(ProblemType.INVALID_REQUEST, "send a JSON object with 'model' and 'input'");
            }
            JsonNode model = body.get("model");
            if (model == null || !model.isTextual() || model.asText().isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/model",
                        "'model' must be the name of a deployment or model (see GET /v1/models)");
            }
            JsonNode input = body.get("input");
            List<String> texts = new ArrayList<>();
            if (input != null && input.isTextual()) {
                texts.add(input.asText());
            } else if (input != null && input.isArray() && !input.isEmpty()) {
                for (int i = 0; i < input.size(); i++) {
                    JsonNode x = input.get(i);
                    if (!x.isTextual()) {
                        throw ProblemException.field(ProblemType.INVALID_REQUEST, "/input/" + i, x.isArray()
                                || x.isNumber() ? "token-id inputs are not accepted here; send the text itself"
                                : "each input must be a string");
                    }
                    texts.add(x.asText());
                }
            } else {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/input",
                        "'input' must be a string or a non-empty list of strings");
            }
            if (texts.size() > MAX_INPUTS) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/input", "at most " + MAX_INPUTS
                        + " inputs per request, got " + texts.size());
            }
            for (int i = 0; i < texts.size(); i++) {
                if (texts.get(i).isEmpty()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, input.isArray() ? "/input/" + i : "/input",
                            "an input must not be empty");
                }
            }
            JsonNode format = body.get("encoding_format");
            boolean base64 = false;
            if (format != null && !format.isNull()) {
                if (!format.isTextual() || !(format.asText().equals("float") || format.asText().equals("base64"))) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/encoding_format",
                            "'encoding_format' must be 'float' or 'base64'");
                }
                base64 = format.asText().equals("base64");
            }
            JsonNode dims = body.get("dimensions");
            int dimensions = 0;
            if (dims != null && !dims.isNull()) {
                if (!dims.isIntegralNumber() || !dims.canConvertToInt() || dims.intValue() < 1) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/dimensions",
                            "'dimensions' must be a whole number of at least 1");
                }
                dimensions = dims.intValue();
            }
            JsonNode user = body.get("user");
            if (user != null && !user.isNull() && !user.isTextual()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/user", "'user' must be a string");
            }
            return new EmbeddingsRequest(model.asText(), List.copyOf(texts), base64, dimensions);
        }
    }

    private void embeddings(RoutingContext ctx) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        responses.decoded(ctx, () -> EmbeddingsRequest.of(responses.jsonBody(ctx)),
                request -> embeddings(ctx, timeout, request));
    }

    private void embeddings(RoutingContext ctx, Optional<Duration> timeout, EmbeddingsRequest request) {
        Principal caller = HttpApi.principal(ctx);
        Predictor.Route route = predictor.route(caller, new Target.Named(request.model()));
        Served served = HttpApi.serving(ctx, route.deployment().map(d -> Served.deployment(d.name(), d.modelName()))
                .orElseGet(() -> Served.model(request.model())));
        PredictRequest predict = HttpApi.predictRequest(ctx, route.target(), timeout, binder(request))
                .withOutputs(EMBEDDINGS_OUTPUTS);
        HttpApi.predict(ctx, predictor, predict, served, prediction -> {
            EmbeddingsAnswer answer;
            try {
                answer = EmbeddingsAnswer.of(request, prediction);
            } catch (ProblemException e) {
                ctx.fail(e);
                return;
            }
            responses.sendAnswer(ctx, answer.floorBytes(), answer::write);
        });
    }

    /** The outputs an embeddings call asks of its model. */
    static final java.util.Set<String> EMBEDDINGS_OUTPUTS = java.util.Set.of(EMBEDDING, PROMPT_TOKENS);

    /** The embeddings request's texts as the model's input, once its signature is known (400 for a model that does not embed). */
    static java.util.function.Function<Signature, List<Tensor>> binder(EmbeddingsRequest request) {
        List<byte[]> texts = request.texts().stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
        return signature -> {
            int size = embeddingSize(signature, request.model());
            if (request.dimensions() > size) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/dimensions", "model '" + request.model()
                        + "' answers vectors of " + size + " dimensions; 'dimensions' may be at most that");
            }
            return List.of(Tensor.ofBytes(TEXT, new long[]{texts.size()}, texts));
        };
    }

    /** The model's answer to an embeddings request, checked, as OpenAI's answer is written. */
    record EmbeddingsAnswer(String model, Tensor vectors, int kept, boolean base64, long tokens) {
        /** @throws ProblemException {@code inference-failed} for a model that did not answer one vector per text */
        static EmbeddingsAnswer of(EmbeddingsRequest request, dev.serveml.inference.Prediction prediction) {
            Output out = prediction.result().outputs().get(EMBEDDING);
            if (!(out instanceof Tensor vectors) || vectors.datatype() != DataType.FP32 || vectors.shape().length != 2
                    || vectors.shape()[0] != request.texts().size()) {
                throw new ProblemException(ProblemType.INFERENCE_FAILED, "the model did not answer one embedding per input");
            }
            long tokens = promptTokens(prediction.result().outputs().get(PROMPT_TOKENS));
            int size = (int) vectors.shape()[1];
            int kept = request.dimensions() == 0 ? size : Math.min(request.dimensions(), size);
            return new EmbeddingsAnswer(prediction.deployment().orElse(request.model()), vectors, kept, request.base64(),
                    tokens);
        }

        /** The fewest bytes the answer takes: each float is at most ~16 characters as JSON, ~5.4 as base64. */
        long floorBytes() {
            return vectors.shape()[0] * kept * (base64 ? 5 : 2);
        }

        void write(JsonGenerator g) throws IOException {
            writeEmbeddings(g, model, vectors, kept, base64, tokens);
        }
    }

    /**
     * The embedding size of a feature-extraction model ({@code text} BYTES in, {@code embedding}
     * FP32 [-1, size] out), or 400 for any other model: the OpenAI clients show it as a bad request.
     */
    static int embeddingSize(Signature signature, String model) {
        boolean text = signature.inputs().stream().anyMatch(s -> s.name().equals(TEXT) && s.datatype() == DataType.BYTES);
        Optional<TensorSpec> embedding = signature.outputs().stream()
                .filter(s -> s.name().equals(EMBEDDING) && s.datatype() == DataType.FP32 && s.shape().size() == 2
                        && s.shape().get(1) > 0).findFirst();
        if (!text || embedding.isEmpty() || signature.inputs().size() != 1) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/model", "model '" + model
                    + "' is not a feature-extraction text model; /v1/embeddings serves those only");
        }
        return (int) (long) embedding.get().shape().get(1);
    }

    /**
     * Writes OpenAI's embeddings answer. A vector truncated to {@code kept} dimensions is scaled
     * back to unit length, as OpenAI's text-embedding-3 models do with {@code dimensions}.
     */
    static void writeEmbeddings(JsonGenerator g, String model, Tensor vectors, int kept, boolean base64, long tokens)
            throws IOException {
        int rows = (int) vectors.shape()[0];
        int size = (int) vectors.shape()[1];
        ByteBuffer data = vectors.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        g.writeStartObject();
        g.writeStringField("object", "list");
        g.writeArrayFieldStart("data");
        float[] row = new float[kept];
        for (int r = 0; r < rows; r++) {
            double norm = 0;
            for (int j = 0; j < kept; j++) {
                row[j] = data.getFloat((r * size + j) * Float.BYTES);
                norm += (double) row[j] * row[j];
            }
            if (kept < size) {
                double scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
                for (int j = 0; j < kept; j++) {
                    row[j] = (float) (row[j] * scale);
                }
            }
            g.writeStartObject();
            g.writeStringField("object", "embedding");
            g.writeNumberField("index", r);
            g.writeFieldName("embedding");
            if (base64) {
                ByteBuffer bytes = ByteBuffer.allocate(kept * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (int j = 0; j < kept; j++) {
                    bytes.putFloat(row[j]);
                }
                g.writeString(Base64.getEncoder().encodeToString(bytes.array()));
            } else {
                g.writeStartArray();
                for (int j = 0; j < kept; j++) {
                    g.writeNumber(row[j]);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeStringField("model", model);
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", tokens);
        g.writeNumberField("total_tokens", tokens);
        g.writeEndObject();
        g.writeEndObject();
    }

    /** The tokens the texts took, as the model's tokenizer counted them (its {@code prompt_tokens} output). */
    static long promptTokens(Output counts) {
        if (!(counts instanceof Tensor t) || t.datatype() != DataType.INT64) {
            return 0;
        }
        ByteBuffer data = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long sum = 0;
        while (data.remaining() >= Long.BYTES) {
            sum += data.getLong();
        }
        return sum;
    }
}
