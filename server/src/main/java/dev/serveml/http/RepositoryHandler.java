package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.DeploymentStatus;
import dev.serveml.deployments.Deployments;
import dev.serveml.inference.ModelHost;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelVersion;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Triton's model repository extension: list what can be served and whether it is loaded, and
 * load or unload a model (every servable version) or a deployment (its versions) by name.
 */
final class RepositoryHandler {
    /** One row of the repository index, in Triton's shape. */
    record IndexEntry(String name, String version, String state, String reason) {
    }

    private final ModelRegistry registry;
    private final ModelHost host;
    private final Deployments deployments;
    private final Responses responses;

    RepositoryHandler(ModelRegistry registry, ModelHost host, Deployments deployments, Responses responses) {
        this.registry = registry;
        this.host = host;
        this.deployments = deployments;
        this.responses = responses;
    }

    void register(HttpApi api) {
        api.jsonRoute(HttpMethod.POST, "/v2/repository/index", Access.scope(Scope.MODELS_READ), this::index);
        Access write = Access.scope(Scope.DEPLOYMENTS_WRITE);
        api.jsonRoute(HttpMethod.POST, "/v2/repository/models/:name/load", write, ctx -> change(ctx, true));
        api.jsonRoute(HttpMethod.POST, "/v2/repository/models/:name/unload", write, ctx -> change(ctx, false));
    }

    private void index(RoutingContext ctx) {
        Buffer raw = ctx.body().buffer();
        boolean readyOnly = false;
        if (raw != null && raw.length() > 0) {
            JsonNode ready = responses.readTree(raw.getBytes(), 0, raw.length()).get("ready");
            readyOnly = ready != null && ready.asBoolean(false);
        }
        boolean onlyReady = readyOnly;
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> {
            List<IndexEntry> out = new ArrayList<>();
            for (Deployment d : deployments.list(caller)) {
                boolean ready = d.status() == DeploymentStatus.ACTIVE;
                out.add(new IndexEntry(d.name(), Integer.toString(d.policy().versions().get(0).version()),
                        ready ? "READY" : "UNAVAILABLE", ready ? "" : "deployment is " + d.status().value()));
            }
            for (Model m : registry.listModels(caller, false)) {
                for (ModelVersion v : registry.servableVersions(caller, m.name())) {
                    boolean loaded = host.isLoaded(v.id());
                    out.add(new IndexEntry(m.name(), Integer.toString(v.version()), loaded ? "READY" : "UNAVAILABLE",
                            loaded ? "" : "unloaded"));
                }
            }
            return onlyReady ? out.stream().filter(e -> e.state().equals("READY")).toList() : out;
        }, entries -> responses.sendValue(ctx, 200, entries));
    }

    /** Loads (every version, with warm-up) or unloads what the name means: a deployment first, then a model. */
    private void change(RoutingContext ctx, boolean load) {
        String name = ctx.pathParam("name");
        Principal caller = HttpApi.principal(ctx);
        Optional<Deployment> deployment = deployments.find(caller, name);
        responses.blocking(ctx, () -> {
            List<ModelVersion> versions = new ArrayList<>();
            if (deployment.isPresent()) {
                Deployment d = deployment.get();
                for (int v : d.policy().allVersions()) {
                    versions.add(registry.resolveServable(caller, d.modelName(), Optional.of(v)));
                }
            } else {
                registry.requireModel(caller, name);
                versions.addAll(load ? List.of(registry.resolveServable(caller, name, Optional.empty()))
                        : registry.servableVersions(caller, name));
            }
            for (ModelVersion v : versions) {
                if (load) {
                    host.withModel(v, m -> Boolean.TRUE);
                } else {
                    host.unload(v.id());
                }
            }
            return Boolean.TRUE;
        }, ok -> ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").end());
    }
}
