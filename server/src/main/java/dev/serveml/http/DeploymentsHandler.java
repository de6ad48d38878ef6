package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.DeploymentEvent;
import dev.serveml.deployments.Deployments;
import dev.serveml.deployments.ShadowStats;
import dev.serveml.inference.Target;
import dev.serveml.inference.NativeRequest;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.stats.ServingStats;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Deployments over REST: lifecycle, rollback and promotion, the event stream, and predict. */
final class DeploymentsHandler {
    /** A deployment as the API shows it. */
    record DeploymentView(String name, String model, Long ownerId, String status, String statusMessage,
                          JsonNode policy, JsonNode previousPolicy, JsonNode config, List<Deployments.Member> versions,
                          ShadowStats.Reading shadowStats, Instant createdAt, Instant updatedAt, String predictUrl,
                          String eventsUrl) {
        static DeploymentView of(Deployment d, List<Deployments.Member> members, Optional<ShadowStats.Reading> shadow) {
            String base = "/api/v1/deployments/" + d.name();
            return new DeploymentView(d.name(), d.modelName(), d.ownerId(), d.status().value(), d.statusMessage(),
                    d.policy().toJson(), d.previousPolicy().map(p -> (JsonNode) p.toJson()).orElse(null),
                    d.config().toJson(), members, shadow.orElse(null), d.createdAt(), d.updatedAt(),
                    base + "/predict", base + "/events");
        }
    }

    private final Deployments deployments;
    private final Predictor predictor;
    private final ServingStats stats;
    private final Responses responses;

    DeploymentsHandler(Deployments deployments, Predictor predictor, ServingStats stats, Responses responses) {
        this.deployments = deployments;
        this.predictor = predictor;
        this.stats = stats;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access read = Access.scope(Scope.MODELS_READ);
        Access write = Access.scope(Scope.DEPLOYMENTS_WRITE);
        api.jsonRoute(HttpMethod.POST, "/api/v1/deployments", write, this::create);
        api.route(HttpMethod.GET, "/api/v1/deployments", read, this::list);
        api.route(HttpMethod.GET, "/api/v1/deployments/:name", read, this::get);
        api.jsonRoute(HttpMethod.PATCH, "/api/v1/deployments/:name", write, this::update);
        api.route(HttpMethod.DELETE, "/api/v1/deployments/:name", write, this::delete);
        api.route(HttpMethod.POST, "/api/v1/deployments/:name/rollback", write, ctx -> answer(ctx, 200,
                caller -> deployments.rollback(caller, ctx.pathParam("name"))));
        api.jsonRoute(HttpMethod.POST, "/api/v1/deployments/:name/promote", write, this::promote);
        api.route(HttpMethod.GET, "/api/v1/deployments/:name/events", read, this::events);
        api.jsonRoute(HttpMethod.POST, "/api/v1/deployments/:name/predict", Access.optional(Scope.PREDICT),
                this::predict);
    }

    private void create(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        answer(ctx, 201, caller -> {
            Deployment d = deployments.create(caller, DeploymentJson.creation(body));
            ctx.response().putHeader("Location", "/api/v1/deployments/" + d.name());
            return d;
        });
    }

    private void list(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> deployments.list(caller).stream().map(d -> view(caller, d)).toList(),
                items -> responses.sendValue(ctx, 200, Views.ListView.of(items)));
    }

    private void get(RoutingContext ctx) {
        answer(ctx, 200, caller -> deployments.require(caller, ctx.pathParam("name")));
    }

    private void update(RoutingContext ctx) {
        // The body is read after the lookup, so that others' deployments answer 404 whatever they send; what it
        // asks is judged by the service, after its own lookup (DeploymentChange).
        Buffer raw = ctx.body().buffer();
        answer(ctx, 200, caller -> {
            Deployment d = deployments.require(caller, ctx.pathParam("name"));
            byte[] bytes = raw == null ? new byte[0] : raw.getBytes();
            return deployments.update(caller, d.name(), DeploymentJson.change(responses.readTree(bytes, 0, bytes.length)));
        });
    }

    private void delete(RoutingContext ctx) {
        answer(ctx, 200, caller -> {
            Deployment d = deployments.delete(caller, ctx.pathParam("name"));
            stats.forget(ServingStats.Kind.DEPLOYMENT, d.name());
            return d;
        });
    }

    private void promote(RoutingContext ctx) {
        Buffer raw = ctx.body().buffer();
        answer(ctx, 200, caller -> {
            Deployment d = deployments.require(caller, ctx.pathParam("name"));
            Optional<Integer> version = Optional.empty();
            if (raw != null && raw.length() > 0) {
                JsonNode body = responses.readTree(raw.getBytes(), 0, raw.length());
                JsonNode v = body.get("version");
                if (v != null && (!v.isIntegralNumber() || v.intValue() < 1)) {
                    throw ProblemException.field(ProblemType.INVALID_DEPLOYMENT, "/version",
                            "version must be a version number (1, 2, ...)");
                }
                version = v == null ? Optional.empty() : Optional.of(v.intValue());
            }
            return deployments.promote(caller, d.name(), version);
        });
    }

    /** Runs a blocking deployment operation and answers with the deployment as it then is. */
    private void answer(RoutingContext ctx, int status, java.util.function.Function<Principal, Deployment> work) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> view(caller, work.apply(caller)), v -> responses.sendValue(ctx, status, v));
    }

    private DeploymentView view(Principal caller, Deployment d) {
        return DeploymentView.of(d, deployments.members(caller, d), deployments.shadowReading(d));
    }

    private void predict(RoutingContext ctx) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        // Resolved before the body is read: an unknown deployment is 404 whatever was sent.
        Predictor.Route route = predictor.route(HttpApi.principal(ctx), new Target.Deployment(ctx.pathParam("name")));
        Deployment d = route.deployment().orElseThrow();
        Served served = HttpApi.serving(ctx, Served.deployment(d.name(), d.modelName()));
        responses.decoded(ctx, () -> NativeRequest.of(responses.jsonBody(ctx)),
                request -> PredictHandler.answer(ctx, predictor, responses, request,
                        HttpApi.predictRequest(ctx, route.target(), timeout, request::bind)
                                .withParameters(request.parameters()), served, d.name()));
    }

    /**
     * Server-Sent Events: the deployment's past events, then live ones; the stream ends once the
     * latest event says the deployment is active or failed. A {@code Last-Event-ID} skips what a
     * reconnecting client has seen.
     */
    private void events(RoutingContext ctx) {
        Deployment d = deployments.require(HttpApi.principal(ctx), ctx.pathParam("name"));
        EventStream<DeploymentEvent> stream = new EventStream<>(ctx, new EventStream.Kind<>(DeploymentEvent::id,
                DeploymentEvent::step, this::data, e -> e.status().settled(), "waiting for the deployment to settle"));
        io.vertx.core.Context context = ctx.vertx().getOrCreateContext();
        Runnable unwatch = deployments.watch(d, e -> context.runOnContext(v -> stream.live(e)));
        stream.closeWith(ctx, unwatch);
        responses.vertx().executeBlocking(() -> deployments.events(d), false)
                .onSuccess(stream::replay)
                .onFailure(e -> {
                    unwatch.run();
                    ctx.fail(e);
                });
    }

    private Buffer data(DeploymentEvent e) {
        return responses.write(g -> {
            g.writeStartObject();
            g.writeNumberField("id", e.id());
            g.writeStringField("at", e.at().toString());
            g.writeStringField("step", e.step());
            g.writeNumberField("percent", e.percent());
            g.writeStringField("message", e.message());
            g.writeStringField("status", e.status().value());
            g.writeEndObject();
        });
    }
}
