package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.inference.ModelHost;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.VersionState;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The model registry over REST: upload, list, read, lifecycle state, soft delete and restore. */
final class ModelsHandler {
    private final ModelRegistry registry;
    private final ModelHost host;
    private final UploadReceiver uploads;
    private final Responses responses;

    ModelsHandler(ModelRegistry registry, ModelHost host, UploadReceiver uploads, Responses responses) {
        this.registry = registry;
        this.host = host;
        this.uploads = uploads;
        this.responses = responses;
    }

    void register(HttpApi api) {
        api.route(HttpMethod.GET, "/api/v1/models", this::listModels);
        api.route(HttpMethod.GET, "/api/v1/models/:name", this::getModel);
        api.route(HttpMethod.DELETE, "/api/v1/models/:name", this::deleteModel);
        api.route(HttpMethod.POST, "/api/v1/models/:name/restore", this::restoreModel);
        api.streamingRoute(HttpMethod.POST, "/api/v1/models/:name/versions", this::upload);
        api.route(HttpMethod.GET, "/api/v1/models/:name/versions", this::listVersions);
        api.route(HttpMethod.GET, "/api/v1/models/:name/versions/:version", this::getVersion);
        api.jsonRoute(HttpMethod.PATCH, "/api/v1/models/:name/versions/:version", this::patchVersion);
        api.route(HttpMethod.DELETE, "/api/v1/models/:name/versions/:version", this::deleteVersion);
        api.route(HttpMethod.POST, "/api/v1/models/:name/versions/:version/restore", this::restoreVersion);
    }

    private void listModels(RoutingContext ctx) {
        boolean all = "true".equals(ctx.queryParams().get("include_deleted"));
        responses.blocking(ctx, () -> all ? registry.listAllModels() : registry.listModels(),
                models -> responses.sendValue(ctx, 200, Views.ListView.of(models.stream().map(Views.ModelView::of).toList())));
    }

    private void getModel(RoutingContext ctx) {
        responses.blocking(ctx, () -> registry.requireModel(ctx.pathParam("name")),
                m -> responses.sendValue(ctx, 200, Views.ModelView.of(m)));
    }

    private void deleteModel(RoutingContext ctx) {
        responses.blocking(ctx, () -> registry.deleteModel(ctx.pathParam("name")),
                m -> responses.sendValue(ctx, 200, Views.ModelView.of(m)));
    }

    private void restoreModel(RoutingContext ctx) {
        responses.blocking(ctx, () -> registry.restoreModel(ctx.pathParam("name")),
                m -> responses.sendValue(ctx, 200, Views.ModelView.of(m)));
    }

    private void upload(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        uploads.receive(ctx.request())
                .compose(staged -> responses.vertx().executeBlocking(() -> registry.register(name, staged), false))
                .onSuccess(v -> {
                    ctx.response().putHeader("Location", "/api/v1/models/" + v.modelName() + "/versions/" + v.version());
                    responses.sendValue(ctx, 201, view(v));
                })
                .onFailure(e -> {
                    if (e instanceof ProblemException p && p.type() == ProblemType.UPLOAD_TOO_LARGE
                            && ctx.request().version() != io.vertx.core.http.HttpVersion.HTTP_2) {
                        // Stop an HTTP/1 client from sending the rest of an oversized body
                        // (HTTP/2 streams are reset by the server when the answer ends early).
                        ctx.response().putHeader("Connection", "close");
                        ctx.response().endHandler(v -> ctx.request().connection().close());
                    }
                    ctx.fail(e);
                });
    }

    private void listVersions(RoutingContext ctx) {
        boolean all = "true".equals(ctx.queryParams().get("include_deleted"));
        responses.blocking(ctx, () -> registry.listVersions(ctx.pathParam("name"), all),
                versions -> responses.sendValue(ctx, 200, Views.ListView.of(versions.stream().map(this::view).toList())));
    }

    private void getVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        responses.blocking(ctx, () -> registry.requireVersion(name, version), v -> responses.sendValue(ctx, 200, view(v)));
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
        responses.blocking(ctx, () -> registry.setState(name, version, state), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private void deleteVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        responses.blocking(ctx, () -> registry.deleteVersion(name, version), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private void restoreVersion(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        int version = HttpApi.versionParam(ctx);
        responses.blocking(ctx, () -> registry.restoreVersion(name, version), v -> responses.sendValue(ctx, 200, view(v)));
    }

    private Views.VersionView view(ModelVersion v) {
        return Views.VersionView.of(v, host.isLoaded(v.id()));
    }
}
