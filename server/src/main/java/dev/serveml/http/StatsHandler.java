package dev.serveml.http;

import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.Deployments;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.stats.ServingStats;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

/**
 * Serving statistics over REST, for the owner of a model or deployment (and admins): other
 * tenants get the same 404 as for a name that does not exist.
 */
final class StatsHandler {
    private final ServingStats stats;
    private final Deployments deployments;
    private final ModelRegistry registry;
    private final Responses responses;

    StatsHandler(ServingStats stats, Deployments deployments, ModelRegistry registry, Responses responses) {
        this.stats = stats;
        this.deployments = deployments;
        this.registry = registry;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access read = Access.scope(Scope.MODELS_READ);
        api.route(HttpMethod.GET, "/api/v1/deployments/:name/stats", read, this::deployment);
        api.route(HttpMethod.GET, "/api/v1/models/:name/stats", read, this::model);
    }

    private void deployment(RoutingContext ctx) {
        Deployment d = deployments.require(HttpApi.principal(ctx), ctx.pathParam("name"));
        responses.sendValue(ctx, 200, stats.report(ServingStats.Kind.DEPLOYMENT, d.name()));
    }

    private void model(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> registry.requireModel(caller, ctx.pathParam("name")),
                m -> responses.sendValue(ctx, 200, stats.report(ServingStats.Kind.MODEL, m.name())));
    }
}
