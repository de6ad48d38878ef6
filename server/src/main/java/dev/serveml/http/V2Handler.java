package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.DeploymentStatus;
import dev.serveml.deployments.Deployments;
import dev.serveml.deployments.TrafficPolicy;
import dev.serveml.inference.InferenceResult;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Target;
import dev.serveml.predict.Predictor;
import dev.serveml.tensor.Tensor;
import dev.serveml.inference.ModelHost;
import dev.serveml.tensor.TensorSpec;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelVersion;
import dev.serveml.store.Database;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The Open Inference Protocol (KServe V2, Triton) over HTTP/REST: server and model health and
 * metadata, and infer with JSON or binary tensors. Errors are the protocol's {@code {"error"}}.
 */
final class V2Handler {
    static final String SERVER_VERSION = "0.1.0";

    private final ModelRegistry registry;
    private final ModelHost host;
    private final Predictor predictor;
    private final Database database;
    private final V2Codec codec;
    private final Responses responses;
    private final Deployments deployments;

    V2Handler(ModelRegistry registry, ModelHost host, Predictor predictor, Deployments deployments,
              Database database, Responses responses) {
        this.deployments = deployments;
        this.registry = registry;
        this.host = host;
        this.predictor = predictor;
        this.database = database;
        this.codec = new V2Codec(responses.mapper(), responses.maxResponseBytes());
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access model = Access.optional(Scope.PREDICT);
        api.route(HttpMethod.GET, "/v2", Access.PUBLIC, this::server);
        api.route(HttpMethod.GET, "/v2/health/live", Access.PUBLIC, ctx -> ctx.response().setStatusCode(200).end());
        api.route(HttpMethod.GET, "/v2/health/ready", Access.PUBLIC, ctx -> responses.blocking(ctx, database::ping,
                up -> ctx.response().setStatusCode(up ? 200 : 503).end()));
        api.route(HttpMethod.GET, "/v2/models/:name", model, ctx -> metadata(ctx, Optional.empty()));
        api.route(HttpMethod.GET, "/v2/models/:name/versions/:version", model,
                ctx -> metadata(ctx, Optional.of(HttpApi.versionParam(ctx))));
        api.route(HttpMethod.GET, "/v2/models/:name/ready", model, ctx -> ready(ctx, Optional.empty()));
        api.route(HttpMethod.GET, "/v2/models/:name/versions/:version/ready", model,
                ctx -> ready(ctx, Optional.of(HttpApi.versionParam(ctx))));
        api.rawBodyRoute(HttpMethod.POST, "/v2/models/:name/infer", model, ctx -> infer(ctx, Optional.empty()));
        api.rawBodyRoute(HttpMethod.POST, "/v2/models/:name/versions/:version/infer", model,
                ctx -> infer(ctx, Optional.of(HttpApi.versionParam(ctx))));
    }

    private void server(RoutingContext ctx) {
        responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeStringField("name", "serveml");
            g.writeStringField("version", SERVER_VERSION);
            g.writeArrayFieldStart("extensions");
            g.writeString("binary_tensor_data");
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    private void metadata(RoutingContext ctx, Optional<Integer> version) {
        String name = ctx.pathParam("name");
        Principal caller = HttpApi.principal(ctx);
        Optional<Deployment> deployment = version.isEmpty() ? deployments.find(caller, name) : Optional.empty();
        responses.blocking(ctx, () -> {
            if (deployment.isPresent()) {
                Deployment d = deployment.get();
                List<ModelVersion> primaries = d.policy().versions().stream()
                        .map(s -> registry.resolveServable(caller, d.modelName(), Optional.of(s.version()))).toList();
                int main = d.policy().versions().stream().max(java.util.Comparator.comparingInt(TrafficPolicy.Split::weight))
                        .orElseThrow().version();
                return new Object[]{primaries.stream().filter(v -> v.version() == main).findFirst().orElseThrow(),
                        primaries};
            }
            ModelVersion v = registry.resolveServable(caller, name, version);
            List<ModelVersion> all = registry.servableVersions(caller, name);
            return new Object[]{v, all};
        }, pair -> {
            ModelVersion v = (ModelVersion) pair[0];
            @SuppressWarnings("unchecked")
            List<ModelVersion> all = (List<ModelVersion>) pair[1];
            responses.send(ctx, 200, g -> {
                g.writeStartObject();
                g.writeStringField("name", deployment.map(Deployment::name).orElse(v.modelName()));
                g.writeArrayFieldStart("versions");
                for (ModelVersion x : version.isPresent() ? List.of(v) : all) {
                    g.writeString(Integer.toString(x.version()));
                }
                g.writeEndArray();
                g.writeStringField("platform", platform(v));
                writeSpecs(g, "inputs", v.signature().inputs());
                writeSpecs(g, "outputs", v.signature().outputs());
                g.writeEndObject();
            });
        });
    }

    private static String platform(ModelVersion v) {
        return switch (v.runtime()) {
            case "onnx" -> "onnx_onnxv1";
            default -> v.runtime();
        };
    }

    private static void writeSpecs(JsonGenerator g, String field, List<TensorSpec> specs) throws IOException {
        g.writeArrayFieldStart(field);
        for (TensorSpec s : specs) {
            g.writeStartObject();
            g.writeStringField("name", s.name());
            g.writeStringField("datatype", s.datatype().name());
            g.writeArrayFieldStart("shape");
            if (s.kind().equals(TensorSpec.SEQUENCE_OF_MAPS)) {
                g.writeNumber(-1);
                g.writeNumber(-1);
            } else {
                for (long d : s.shape()) {
                    g.writeNumber(d);
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** Ready means loaded: the first call loads the version, so a client polling ready gets a warm model. */
    private void ready(RoutingContext ctx, Optional<Integer> version) {
        String name = ctx.pathParam("name");
        Optional<Deployment> deployment = version.isEmpty() ? deployments.find(HttpApi.principal(ctx), name)
                : Optional.empty();
        if (deployment.isPresent()) {
            // A deployment is ready once its rollout has loaded every version.
            if (deployment.get().status() != DeploymentStatus.ACTIVE) {
                throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, "deployment '" + name + "' is "
                        + deployment.get().status().value());
            }
            ctx.response().setStatusCode(200).end();
            return;
        }
        responses.blocking(ctx, () -> {
            ModelVersion v = registry.resolveServable(HttpApi.principal(ctx), name, version);
            return host.withModel(v, m -> Boolean.TRUE);
        }, ok -> ctx.response().setStatusCode(200).end());
    }

    private void infer(RoutingContext ctx, Optional<Integer> version) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        String headerLength = ctx.request().getHeader(V2Codec.HEADER_LENGTH);
        responses.decoded(ctx, () -> {
            Buffer body = ctx.body().buffer();
            byte[] bytes = body == null ? new byte[0] : body.getBytes();
            return codec.decode(bytes, headerLength, responses);
        }, request -> infer(ctx, version, timeout, request));
    }

    private void infer(RoutingContext ctx, Optional<Integer> version, Optional<Duration> timeout,
                       V2Codec.InferRequest request) {
        Set<String> outputs = new LinkedHashSet<>();
        request.outputs().forEach(o -> outputs.add(o.name()));
        String name = ctx.pathParam("name");
        // Without a version the name is a deployment's first, then a model's.
        Predictor.Route route = predictor.route(HttpApi.principal(ctx),
                version.isEmpty() ? new Target.Named(name) : new Target.Model(name, version));
        Served served = HttpApi.serving(ctx, route.deployment().map(d -> Served.deployment(d.name(), d.modelName()))
                .orElseGet(() -> Served.model(name)));
        List<Tensor> inputs = request.inputs();
        PredictRequest predict = HttpApi.predictRequest(ctx, route.target(), timeout, signature -> inputs)
                .withOutputs(outputs).withParameters(request.parameters());
        HttpApi.predict(ctx, predictor, predict, served, prediction -> {
            InferenceResult result = prediction.result();
            responses.answer(ctx, V2Codec.floorBytes(request, result.outputs()),
                    () -> codec.encode(prediction.deployment().orElse(result.version().modelName()),
                            Integer.toString(result.version().version()), request, result.outputs(),
                            result.cache().label()),
                    encoded -> send(ctx, encoded));
        });
    }

    private static void send(RoutingContext ctx, V2Codec.Encoded encoded) {
        if (encoded.binary()) {
            ctx.response().putHeader(V2Codec.HEADER_LENGTH, Integer.toString(encoded.headerLength()))
                    .putHeader("Content-Type", "application/octet-stream");
        } else {
            ctx.response().putHeader("Content-Type", "application/json");
        }
        ctx.response().setStatusCode(200).end(Buffer.buffer(encoded.body()));
    }

}
