package dev.serveml.http;

import dev.serveml.registry.ModelRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.Json;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The dashboard: one HTML page at {@code /} and its scripts and styles under {@code /ui/}, all
 * from the JAR. The page holds no data; it signs in and calls the API like any client, so its
 * routes are public.
 */
final class WebHandler {
    /**
     * Scripts and styles only from this server, nothing inline, no framing: a stolen access token
     * is the worst a dashboard bug could leak, so nothing foreign may run beside it.
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            + "frame-ancestors 'none'";

    private final Buffer page;
    private final Buffer rules = Buffer.buffer(rulesScript());
    /** Drawn by server/src/web/make_favicon.py; browsers ask for it on every site. */
    private final Buffer icon;

    WebHandler() {
        this.page = Buffer.buffer(resource("web/index.html"));
        this.icon = Buffer.buffer(resource("web/favicon.ico"));
    }

    void register(HttpApi api) {
        api.route(HttpMethod.GET, "/", Access.PUBLIC, this::page);
        api.route(HttpMethod.GET, "/favicon.ico", Access.PUBLIC, ctx -> secure(ctx.response())
                .putHeader("Content-Type", "image/x-icon").putHeader("Cache-Control", "public, max-age=86400")
                .end(icon));
        // Before /ui/*: the dashboard checks names by the rule the server enforces, not a copy of it.
        api.route(HttpMethod.GET, "/ui/rules.js", Access.PUBLIC, ctx -> secure(ctx.response())
                .putHeader("Content-Type", "text/javascript; charset=utf-8").putHeader("Cache-Control", "no-cache")
                .end(rules));
        StaticHandler assets = StaticHandler.create("web/ui").setCachingEnabled(false).setDirectoryListing(false);
        api.route(HttpMethod.GET, "/ui/*", Access.PUBLIC, ctx -> {
            secure(ctx.response());
            assets.handle(ctx);
        });
    }

    private void page(RoutingContext ctx) {
        secure(ctx.response()).putHeader("Content-Type", "text/html; charset=utf-8")
                .putHeader("Cache-Control", "no-cache").end(page);
    }

    /** The server's input rules as a JavaScript module for the dashboard. */
    static String rulesScript() {
        return "// Made by the server (WebHandler) from the rules it enforces: the dashboard cannot disagree.\n"
                + "export const NAME = new RegExp(" + Json.encode("^" + ModelRegistry.NAME.pattern() + "$") + ");\n";
    }

    private static HttpServerResponse secure(HttpServerResponse response) {
        return response.putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                .putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Referrer-Policy", "no-referrer");
    }

    private static byte[] resource(String name) {
        try (InputStream in = WebHandler.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from the JAR");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
