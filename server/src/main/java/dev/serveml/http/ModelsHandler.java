package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.inference.ModelHost;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelSettings;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.VersionState;
import dev.serveml.stats.ServingStats;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The model registry over REST: upload, list, read, lifecycle state, soft delete and restore. */
final class ModelsHandler {
    private final ModelRegistry registry;
    private final ModelHost host;
    private final UploadReceiver uploads;
    private final io.vertx.core.Handler<RoutingContext> imports;
    private final ServingStats stats;
    private final Responses responses;

    /** @param imports takes a JSON body sent to the versions route: a Hub import ({@link ImportsHandler#create}) */
    ModelsHandler(ModelRegistry registry, ModelHost host, UploadReceiver uploads,
                  io.vertx.core.Handler<RoutingContext> imports, ServingStats stats, Responses responses) {
        this.registry = registry;
        this.host = host;
        this.uploads = uploads;
        this.imports = imports;
        this.stats = stats;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access read = Access.scope(Scope.MODELS_READ);
        Access write = Access.scope(Scope.MODELS_WRITE);
        api.route(HttpMethod.GET, "/api/v1/models", read, this::listModels);
        api.route(HttpMethod.GET, "/api/v1/models/:name", read, this::getModel);
        api.jsonRoute(HttpMethod.PATCH, "/api/v1/models/:name", write, this::patchModel);
        api.route(HttpMethod.DELETE, "/api/v1/models/:name", write, this::deleteModel);
        api.route(HttpMethod.POST, "/api/v1/models/:name/restore", write, this::restoreModel);
        api.streamingRoute(HttpMethod.POST, "/api/v1/models/:name/versions", write, this::upload);
        api.route(HttpMethod.GET, "/api/v1/models/:name/versions", read, this::listVersions);
        api.route(HttpMethod.GET, "/api/v1/models/:name/versions/:version", read, this::getVersion);
        api.jsonRoute(HttpMethod.PATCH, "/api/v1/models/:name/versions/:version", write, this::patchVersion);
        api.route(HttpMethod.DELETE, "/api/v1/models/:name/versions/:version", write, this::deleteVersion);
        api.route(HttpMethod.POST, "/api/v1/models/:name/versions/:version/restore", write, this::restoreVersion);
    }

    private void listModels(RoutingContext ctx) {
        boolean all = "true".equals(ctx.queryParams().get("include_deleted"));
        responses.blocking(ctx, () -> registry.listModels(HttpApi.principal(ctx), all),
                models -> responses.sendValue(ctx, 200, Views.ListView.of(models.stream().map(Views.ModelView::of).toList())));
    }

    private void getModel(RoutingContext ctx) {
        responses.blocking(ctx, () -> registry.requireModel(HttpApi.principal(ctx), ctx.pathParam("name")),
                m -> responses.sendValue(ctx, 200, Views.ModelView.of(m)));
    }

    private void deleteModel(RoutingContext ctx) {
        responses.blocking(ctx, () -> registry.deleteModel(HttpApi.principal(ctx), ctx.pathParam("name")), m -> {
            stats.forget(ServingStats.Kind.MODEL, m.name());
            responses.sendValue(ctx, 200, Views.ModelView.of(m));
        });
    }

    private void restoreModel(RoutingContext ctx) {
        responses.blocking(ctx, () -> registry.restoreModel(HttpApi.principal(ctx), ctx.pathParam("name")),
                m -> responses.sendValue(ctx, 200, Views.ModelView.of(m)));
    }

    private void upload(RoutingContext ctx) {
        if (ImportsHandler.isJson(ctx)) {
            // One route, two bodies: multipart is an upload, JSON names a Hugging Face repository.
            imports.handle(ctx);
            return;
        }
        String name = ctx.pathParam("name");
        Principal caller = HttpApi.principal(ctx);
        // Refused before any of the body is stored: a tenant's extra uploads cost nothing.
        UploadReceiver.Slot slot = uploads.admit(caller.userId());
        io.vertx.core.Context context = ctx.vertx().getOrCreateContext();
        uploads.receive(ctx.request())
                // Validation loads run on the registry's own pool, never on the HTTP worker threads.
                .compose(staged -> Future.fromCompletionStage(registry.registerLater(caller, name, staged), context))
                .onComplete(ar -> slot.release())
                .onSuccess(v -> {
                    ctx.response().putHeader("Location", "/api/v1/models/" + v.modelName() + "/versions/" + v.version());
                    responses.sendValue(ctx, 201, view(v));
                })
                .onFailure(e -> UploadReceiver.fail(ctx, e));
    }

    private void patchModel(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        if (!body.isObject() || (!body.has("public") && !body.has("rate_limit_per_minute") && !body.has("description")
                && !body.has("cache"))) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "send any of {\"public\": true|false, "
                    + "\"rate_limit_per_minute\": n (0 clears it), \"description\": \"...\", "
                    + "\"cache\": {\"enabled\": true|false, \"ttl_seconds\": n (0 clears it)}}");
        }
        JsonNode pub = body.get("public");
        if (pub != null && !pub.isBoolean()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/public", "public must be true or false");
        }
        JsonNode limit = body.get("rate_limit_per_minute");
        if (limit != null && !isCount(limit)) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/rate_limit_per_minute",
                    "rate_limit_per_minute must be a whole number, 0 to clear it");
        }
        JsonNode description = body.get("description");
        if (description != null && (!description.isTextual() || description.textValue().length() > 2000)) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/description",
                    "description must be text of at most 2000 characters");
        }
        CacheChange cache = body.has("cache") ? cacheChange(body.get("cache")) : null;
        ModelSettings settings = new ModelSettings(pub == null ? null : pub.booleanValue(),
                limit == null ? null : limit.intValue(), description == null ? null : description.textValue(),
                cache == null ? null : cache.enabled(), cache == null ? null : cache.ttlSeconds());
        responses.blocking(ctx, () -> registry.updateSettings(HttpApi.principal(ctx), ctx.pathParam("name"), settings),
                m -> responses.sendValue(ctx, 200, Views.ModelView.of(m)));
    }

    /** A change to a model's response-cache settings; null leaves a value as it is. */
    private record CacheChange(Boolean enabled, Integer ttlSeconds) {
    }

    private static CacheChange cacheChange(JsonNode cache) {
        if (!cache.isObject() || (!cache.has("enabled") && !cache.has("ttl_seconds"))) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/cache",
                    "cache must be {\"enabled\": true|false, \"ttl_seconds\": n (0 returns to the server default)}");
        }
        JsonNode enabled = cache.get("enabled");
        if (enabled != null && !enabled.isBoolean()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/cache/enabled", "enabled must be true or false");
        }
        JsonNode ttl = cache.get("ttl_seconds");
        if (ttl != null && !isCount(ttl)) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/cache/ttl_seconds",
                    "ttl_seconds must be a whole number of seconds, 0 to return to the server default");
        }
        return new CacheChange(enabled == null ? null : enabled.booleanValue(), ttl == null ? null : ttl.intValue());
    }

    private static boolean isCount(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToInt() && n.intValue() >= 0;
    }

    private void listVersions(RoutingContext ctx) {
        boolean all = "true".equals(ctx.queryParams().get("include_deleted"));
        responses.blocking(ctx, () -> registry.listVersions(HttpApi.principal(ctx), ctx.pathParam("name"), all),
                versions -> responses.sendValue(ctx, 200, Views.ListView.of(versions.stream().map(this::view).toList())));
    }

    private void getVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        responses.blocking(ctx, () -> registry.requireVersion(HttpApi.principal(ctx), name, version), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private void patchVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        JsonNode body = responses.jsonBody(ctx);
        JsonNode stateNode = body.get("state");
        if (!body.isObject() || stateNode == null || !stateNode.isTextual()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/state",
                    "send {\"state\": \"active\" | \"deprecated\" | \"archived\"}");
        }
        VersionState state = VersionState.parse(stateNode.textValue()).orElseThrow(() -> ProblemException.field(
                ProblemType.INVALID_STATE_CHANGE, "/state", "state must be one of "
                        + Arrays.stream(VersionState.values()).map(VersionState::value).collect(Collectors.joining(", "))
                        + "; got '" + stateNode.textValue() + "'"));
        responses.blocking(ctx, () -> registry.setState(HttpApi.principal(ctx), name, version, state), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private void deleteVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        responses.blocking(ctx, () -> registry.deleteVersion(HttpApi.principal(ctx), name, version), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private void restoreVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        responses.blocking(ctx, () -> registry.restoreVersion(HttpApi.principal(ctx), name, version), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private Views.VersionView view(ModelVersion v) {
        return Views.VersionView.of(v, host.isLoaded(v.id()), host.unavailable(v.id()).orElse(null));
    }
}
