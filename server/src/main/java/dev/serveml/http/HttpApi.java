package dev.serveml.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.config.HttpConfig;
import dev.serveml.config.StorageConfig;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.ModelHost;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.store.Database;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The router: request ids and metrics on every request, one route declaration per endpoint (with
 * the body handling it needs), and the problem mapper for every failure. The router is shared by
 * all event loops.
 */
public final class HttpApi {
    /** One declared endpoint, as the OpenAPI description must list it. */
    public record Endpoint(HttpMethod method, String path) {
        /** The path in OpenAPI form: {@code /models/{name}}. */
        public String openApiPath() {
            return path.replaceAll(":([A-Za-z_]+)", "{$1}");
        }
    }

    private static final String ROUTE = "serveml.route";
    private static final String STARTED = "serveml.started";

    private final Router router;
    private final Meters meters;
    private final Problems problems;
    private final BodyHandler bodies;
    private final List<Endpoint> endpoints = new ArrayList<>();

    public HttpApi(Vertx vertx, HttpConfig http, StorageConfig storage, ObjectMapper json, Meters meters,
                   ModelRegistry registry, ModelHost host, InferenceService inference, Database database) {
        this.router = Router.router(vertx);
        this.meters = meters;
        Responses responses = new Responses(json, vertx);
        this.problems = new Problems(responses);
        this.bodies = BodyHandler.create(false).setBodyLimit(http.maxRequestBytes());

        router.route().handler(this::start);
        router.route().handler(RequestIds::assign);
        router.route().failureHandler(problems::handleFailure);
        for (int status : new int[]{400, 404, 405, 413, 415, 500}) {
            router.errorHandler(status, problems::handleFailure);
        }

        UploadReceiver uploads = new UploadReceiver(vertx, storage.uploadsDir(), storage.maxUploadBytes());
        new ModelsHandler(registry, host, uploads, responses).register(this);
        new PredictHandler(inference, responses).register(this);
        new V2Handler(registry, host, inference, database, responses).register(this);
        new OpsHandler(meters, database, responses).register(this);
    }

    public Router router() {
        return router;
    }

    /** Every endpoint declared, for the test that holds the OpenAPI description to the truth. */
    public List<Endpoint> endpoints() {
        return List.copyOf(endpoints);
    }

    private void start(RoutingContext ctx) {
        ctx.put(STARTED, System.nanoTime());
        ctx.addEndHandler(ar -> {
            String route = ctx.get(ROUTE);
            meters.httpRequest(ctx.request().method().name(), route == null ? "unmatched" : route,
                    ctx.response().getStatusCode(), elapsedNanos(ctx));
        });
        ctx.next();
    }

    /** An endpoint without a request body (or one it does not read). */
    void route(HttpMethod method, String path, Handler<RoutingContext> handler) {
        declare(method, path, null).handler(handler);
    }

    /** An endpoint that takes a JSON body, up to the request size limit. */
    void jsonRoute(HttpMethod method, String path, Handler<RoutingContext> handler) {
        declare(method, path, ctx -> requireContentType(ctx, false)).handler(bodies).handler(handler);
    }

    /** An endpoint that takes JSON or the binary tensor extension's octet stream. */
    void rawBodyRoute(HttpMethod method, String path, Handler<RoutingContext> handler) {
        declare(method, path, ctx -> requireContentType(ctx, true)).handler(bodies).handler(handler);
    }

    /** An endpoint that streams its body itself (uploads). */
    void streamingRoute(HttpMethod method, String path, Handler<RoutingContext> handler) {
        declare(method, path, null).handler(handler);
    }

    /**
     * Declares an endpoint: a first route names it for metrics and runs {@code check} before any
     * body is read (Vert.x wants a body handler first on its route); the returned route is the
     * endpoint's own.
     */
    private io.vertx.ext.web.Route declare(HttpMethod method, String path, Handler<RoutingContext> check) {
        Endpoint endpoint = new Endpoint(method, path);
        endpoints.add(endpoint);
        String label = endpoint.openApiPath();
        router.route(method, path).handler(ctx -> {
            ctx.put(ROUTE, label);
            if (check == null) {
                ctx.next();
            } else {
                check.handle(ctx);
            }
        });
        return router.route(method, path);
    }

    private static void requireContentType(RoutingContext ctx, boolean binaryAllowed) {
        String type = ctx.request().getHeader("Content-Type");
        String base = type == null ? "" : type.toLowerCase(Locale.ROOT).split(";", 2)[0].trim();
        boolean ok = base.isEmpty() || base.equals("application/json") || base.endsWith("+json")
                || (binaryAllowed && base.equals("application/octet-stream"));
        if (!ok) {
            ctx.fail(new ProblemException(ProblemType.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json"
                    + (binaryAllowed ? " (or application/octet-stream with Inference-Header-Content-Length)" : "")
                    + "; got Content-Type " + type));
            return;
        }
        ctx.next();
    }

    /** The {@code :version} path parameter as a positive number, or the version-not-found problem. */
    static int versionParam(RoutingContext ctx) {
        String text = ctx.pathParam("version");
        try {
            int v = Integer.parseInt(text);
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new ProblemException(ProblemType.VERSION_NOT_FOUND, "versions are numbered 1, 2, 3...; '" + text
                + "' is not a version number");
    }

    /** The header in which a client gives its request's deadline, in milliseconds from arrival. */
    static final String REQUEST_TIMEOUT = "X-Request-Timeout";
    private static final long MAX_REQUEST_TIMEOUT_MS = 3_600_000;

    /** The {@code X-Request-Timeout} header, or empty for the server's default; 400 when it is not a deadline. */
    static Optional<Duration> requestTimeout(RoutingContext ctx) {
        String text = ctx.request().getHeader(REQUEST_TIMEOUT);
        if (text == null) {
            return Optional.empty();
        }
        long ms = -1;
        try {
            ms = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            // reported below
        }
        if (ms < 1 || ms > MAX_REQUEST_TIMEOUT_MS) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/headers/" + REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT + " must be a whole number of milliseconds from 1 to " + MAX_REQUEST_TIMEOUT_MS
                            + ", got '" + text + "'");
        }
        return Optional.of(Duration.ofMillis(ms));
    }

    /** Nanoseconds since the request reached the router. */
    static long elapsedNanos(RoutingContext ctx) {
        Long started = ctx.get(STARTED);
        return started == null ? 0 : System.nanoTime() - started;
    }
}
