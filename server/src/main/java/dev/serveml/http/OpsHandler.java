package dev.serveml.http;

import dev.serveml.auth.Scope;
import dev.serveml.inference.ModelHost;
import dev.serveml.metrics.Meters;
import dev.serveml.ratelimit.RateLimiter;
import dev.serveml.store.Database;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.function.BooleanSupplier;

/** Operations: health, Prometheus metrics, the OpenAPI description and Swagger UI (from the JAR, no CDN). */
final class OpsHandler {
    private static final String SWAGGER_POM = "META-INF/maven/org.webjars/swagger-ui/pom.properties";

    private final Meters meters;
    private final ModelHost host;
    private final RateLimiter limiter;
    private final Database database;
    private final Responses responses;
    private final Buffer openApi;
    private final Buffer docsPage;
    private final BooleanSupplier draining;

    OpsHandler(Meters meters, ModelHost host, Database database, RateLimiter limiter, Responses responses,
               BooleanSupplier draining) {
        this.host = host;
        this.draining = draining;
        this.limiter = limiter;
        this.meters = meters;
        this.database = database;
        this.responses = responses;
        this.openApi = Buffer.buffer(resource("openapi.json"));
        this.docsPage = Buffer.buffer(resource("docs/index.html"));
    }

    void register(HttpApi api) {
        api.route(HttpMethod.GET, "/health/live", Access.PUBLIC, ctx -> responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeStringField("status", "UP");
            g.writeEndObject();
        }));
        api.route(HttpMethod.GET, "/health/ready", Access.PUBLIC, this::ready);
        api.route(HttpMethod.GET, "/metrics", Access.scope(Scope.ADMIN), ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(meters.scrape()));
        api.route(HttpMethod.GET, "/openapi.json", Access.PUBLIC, ctx -> ctx.response()
                .putHeader("Content-Type", "application/json").end(openApi));
        api.route(HttpMethod.GET, "/docs", Access.PUBLIC, ctx -> ctx.response()
                .putHeader("Content-Type", "text/html; charset=utf-8").end(docsPage));
        api.route(HttpMethod.GET, "/docs/*", Access.PUBLIC, StaticHandler.create("META-INF/resources/webjars/swagger-ui/"
                + swaggerVersion()).setCachingEnabled(true));
    }

    /**
     * Answers at once from the last database check (taken every second on a thread of its own).
     * A database that does not answer makes the replica DEGRADED, not unready: it still serves
     * loaded models to known callers, and taking every replica out of a load balancer because the
     * shared database is down would stop those too. Writes meanwhile answer 503 database-unavailable.
     */
    private void ready(RoutingContext ctx) {
        if (draining.getAsBoolean()) {
            // Stopping: a load balancer should send nothing new here, whatever else is up.
            responses.send(ctx, 503, g -> {
                g.writeStartObject();
                g.writeStringField("status", "DOWN");
                g.writeObjectFieldStart("checks");
                g.writeStringField("server", "stopping");
                g.writeEndObject();
                g.writeEndObject();
            });
            return;
        }
        Database.Health db = database.health();
        int refusing = host.unavailable().size();
        responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeStringField("status", db.up() ? "UP" : "DEGRADED");
            g.writeObjectFieldStart("checks");
            g.writeStringField("database", db.up() ? "UP" : "DOWN");
            g.writeStringField("rate_limits", limiter.status());
            // Readiness is public: a count, not other tenants' model names (owners see why on their version).
            g.writeStringField("models", refusing == 0 ? "UP"
                    : refusing + " loaded version(s) refusing calls while their crashing workers cool down");
            g.writeEndObject();
            g.writeStringField("checked_at", java.time.Instant.ofEpochMilli(db.checkedAtMillis()).toString());
            g.writeEndObject();
        });
    }

    private static String swaggerVersion() {
        try (InputStream in = OpsHandler.class.getClassLoader().getResourceAsStream(SWAGGER_POM)) {
            Properties p = new Properties();
            if (in == null) {
                throw new IllegalStateException("the swagger-ui webjar is missing from the classpath");
            }
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = OpsHandler.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from the JAR");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
