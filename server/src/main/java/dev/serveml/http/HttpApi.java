package dev.serveml.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.audit.AuditLog;
import dev.serveml.auth.Identity;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Authenticator;
import dev.serveml.config.AuthConfig;
import dev.serveml.deployments.Deployments;
import dev.serveml.imports.Imports;
import dev.serveml.config.HttpConfig;
import dev.serveml.ratelimit.Decision;
import dev.serveml.ratelimit.RequestLimits;
import dev.serveml.config.StorageConfig;
import dev.serveml.inference.CacheStatus;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.predict.Predictor;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.inference.ModelHost;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.stats.ServingStats;
import dev.serveml.store.Database;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.Optional;
import java.util.Set;

/**
 * The router: request ids and metrics on every request, one route declaration per endpoint (with
 * the body handling it needs), and the problem mapper for every failure. The router is shared by
 * all event loops.
 */
public final class HttpApi {
    /** One declared endpoint with its access rule, as the OpenAPI description must list it. */
    public record Endpoint(HttpMethod method, String path, Access access) {
        /** The path in OpenAPI form: {@code /models/{name}}. */
        public String openApiPath() {
            return path.replaceAll(":([A-Za-z_]+)", "{$1}");
        }
    }

    private static final String ROUTE = "serveml.route";
    private static final String STARTED = "serveml.started";
    private static final String PRINCIPAL = "serveml.principal";
    private static final String SERVED = "serveml.served";
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HttpApi.class);
    // Pre-encoded header names: these go on every limited response.
    private static final CharSequence RATE_LIMIT = io.vertx.core.http.HttpHeaders.createOptimized("RateLimit-Limit");
    private static final CharSequence RATE_REMAINING =
            io.vertx.core.http.HttpHeaders.createOptimized("RateLimit-Remaining");
    private static final CharSequence RATE_RESET = io.vertx.core.http.HttpHeaders.createOptimized("RateLimit-Reset");
    // OpenAI's names for the same figures (its clients and dashboards read these), and for tokens.
    private static final CharSequence LIMIT_REQUESTS = io.vertx.core.http.HttpHeaders.createOptimized(
            "x-ratelimit-limit-requests");
    private static final CharSequence REMAINING_REQUESTS = io.vertx.core.http.HttpHeaders.createOptimized(
            "x-ratelimit-remaining-requests");
    private static final CharSequence RESET_REQUESTS = io.vertx.core.http.HttpHeaders.createOptimized(
            "x-ratelimit-reset-requests");
    private static final CharSequence LIMIT_TOKENS = io.vertx.core.http.HttpHeaders.createOptimized(
            "x-ratelimit-limit-tokens");
    private static final CharSequence REMAINING_TOKENS = io.vertx.core.http.HttpHeaders.createOptimized(
            "x-ratelimit-remaining-tokens");
    private static final CharSequence RESET_TOKENS = io.vertx.core.http.HttpHeaders.createOptimized(
            "x-ratelimit-reset-tokens");
    private static final String TOKENS = "serveml.tokens";
    // Request header names read on every request, pre-encoded too: a plain string is hashed on each lookup.
    private static final CharSequence AUTHORIZATION = io.vertx.core.http.HttpHeaders.AUTHORIZATION;
    private static final CharSequence API_KEY = io.vertx.core.http.HttpHeaders.createOptimized("X-API-Key");

    private final Router router;
    private final Meters meters;
    private final Problems problems;
    private final BodyHandler bodies;
    private final List<Endpoint> endpoints = new ArrayList<>();
    private final Authenticator authenticator;
    private final RequestLimits limits;
    private final ServingStats stats;
    private final ConnectionLimits connections;
    /** Set once a stop begins: readiness says so and answers ask their clients to close the connection. */
    private volatile boolean draining;

    public HttpApi(Vertx vertx, HttpConfig http, StorageConfig storage, AuthConfig auth, ObjectMapper json,
                   Meters meters, ModelRegistry registry, ModelHost host, Predictor predictor,
                   Deployments deployments, Imports imports, Database database, Identity identity, RequestLimits limits,
                   AuditLog audit, dev.serveml.usage.UsageLog usage, ServingStats stats,
                   dev.serveml.jobs.Jobs jobs) {
        this.router = Router.router(vertx);
        this.stats = stats;
        this.meters = meters;
        this.authenticator = identity.authenticator();
        this.limits = limits;
        this.connections = new ConnectionLimits(http);
        Responses responses = new Responses(json, vertx, http.maxResponseBytes());
        this.problems = new Problems(responses);
        this.bodies = BodyHandler.create(false).setBodyLimit(http.maxRequestBytes());

        router.route().handler(this::start);
        if (!auth.corsOrigins().isEmpty()) {
            router.route().handler(CorsHandler.create().addOrigins(auth.corsOrigins())
                    .allowedMethods(auth.corsMethods().stream().map(HttpMethod::valueOf).collect(Collectors.toSet()))
                    .allowedHeaders(java.util.Set.copyOf(auth.corsHeaders()))
                    .exposedHeaders(java.util.Set.of("X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining",
                            "RateLimit-Reset", "Retry-After", "Inference-Header-Content-Length",
                            "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
                            "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")));
        }
        router.route().failureHandler(problems::handleFailure);
        for (int status : new int[]{400, 404, 405, 413, 415, 500}) {
            router.errorHandler(status, problems::handleFailure);
        }

        UploadReceiver uploads = new UploadReceiver(vertx, storage);
        // The router tries routes in order, matching each path pattern: the hot routes (predict and
        // infer) go first, so a prediction is not matched against every management route first.
        new PredictHandler(predictor, responses).register(this);
        new V2Handler(registry, host, predictor, deployments, database, responses).register(this);
        new DeploymentsHandler(deployments, predictor, stats, responses).register(this);
        new OpenAiHandler(registry, deployments, predictor, responses).register(this);
        new CompletionsHandler(predictor, responses).register(this);
        new AuthHandler(identity.service(), audit, responses).register(this);
        new UsageHandler(usage, responses).register(this);
        ImportsHandler importsHandler = new ImportsHandler(imports, responses);
        importsHandler.register(this);
        new ModelsHandler(registry, host, uploads, importsHandler::create, stats, responses).register(this);
        new StatsHandler(stats, deployments, registry, responses).register(this);
        new JobsHandler(jobs, uploads, responses).register(this);
        new OpenAiBatchHandler(jobs, uploads, responses).register(this);
        new RepositoryHandler(registry, host, deployments, responses).register(this);
        new OpsHandler(meters, host, database, limits.limiter(), responses, () -> draining).register(this);
        new WebHandler().register(this);
    }

    public Router router() {
        return router;
    }

    /**
     * The listener's options. HTTP/1.1 only: with the cleartext HTTP/2 upgrade on, Vert.x hands a
     * connection over only once its first request's headers are in, too late to time a slowloris
     * client out or to count it (HTTP/2 stays possible behind a proxy that speaks it to clients).
     * Vert.x's own idle timeout stays off: {@link ConnectionLimits} applies the timeouts.
     */
    public static HttpServerOptions serverOptions(HttpConfig http) {
        return new HttpServerOptions().setHost(http.host()).setPort(http.port()).setTcpNoDelay(true)
                .setHttp2ClearTextEnabled(false).setIdleTimeout(0);
    }

    /** Serves this API on one of the servers (one per event loop); call from that server's verticle. */
    public HttpServer serve(Vertx vertx, HttpServer server) {
        return connections.guard(vertx, server, router);
    }

    /**
     * Begins a stop: from now on readiness answers 503 and every answer carries
     * {@code Connection: close}, so that clients take no new request to a closing connection.
     */
    public void drain() {
        draining = true;
    }

    /** Client connections open now. */
    public int openConnections() {
        return connections.open();
    }

    /** Every endpoint declared, for the test that holds the OpenAPI description to the truth. */
    public List<Endpoint> endpoints() {
        return List.copyOf(endpoints);
    }

    private void start(RoutingContext ctx) {
        ctx.put(STARTED, System.nanoTime());
        if (draining) {
            ctx.response().putHeader(io.vertx.core.http.HttpHeaders.CONNECTION, io.vertx.core.http.HttpHeaders.CLOSE);
        }
        ctx.addEndHandler(ar -> {
            String route = ctx.get(ROUTE);
            long elapsed = elapsedNanos(ctx);
            int status = ctx.response().getStatusCode();
            meters.httpRequest(ctx.request().method().name(), route == null ? "unmatched" : route, status, elapsed);
            Served served = ctx.get(SERVED);
            if (served != null) {
                try {
                    served.record(stats, status, elapsed);
                } catch (RuntimeException e) {
                    log.warn("serving statistics not recorded: {}", e.toString()); // the answer is already sent
                }
            }
        });
        // Here rather than as a route of its own: each route the router walks costs every request a match.
        RequestIds.assign(ctx);
        ctx.next();
    }

    /** Counts this predict or infer call in the serving statistics once it is answered. */
    static Served serving(RoutingContext ctx, Served served) {
        ctx.put(SERVED, served);
        return served;
    }

    /** An endpoint without a request body (or one it does not read). */
    void route(HttpMethod method, String path, Access access, Handler<RoutingContext> handler) {
        declare(method, path, access, null, false).handler(handler);
    }

    /** An endpoint that takes a JSON body, up to the request size limit. */
    void jsonRoute(HttpMethod method, String path, Access access, Handler<RoutingContext> handler) {
        declare(method, path, access, ctx -> requireContentType(ctx, false), true).handler(bodies).handler(handler);
    }

    /**
     * A public endpoint that takes a JSON body and draws from its client address's sign-in bucket
     * (register, login, refresh): open to anyone, and each call costs a bcrypt computation or a
     * database write. Refused with 429 and Retry-After before the body is read.
     */
    void signInRoute(HttpMethod method, String path, Handler<RoutingContext> handler) {
        declare(method, path, Access.PUBLIC, ctx -> signIn(ctx, c -> requireContentType(c, false)), true)
                .handler(bodies).handler(handler);
    }

    /** An endpoint that takes JSON or the binary tensor extension's octet stream. */
    void rawBodyRoute(HttpMethod method, String path, Access access, Handler<RoutingContext> handler) {
        declare(method, path, access, ctx -> requireContentType(ctx, true), true).handler(bodies).handler(handler);
    }

    /** An endpoint that streams its body itself (uploads). */
    void streamingRoute(HttpMethod method, String path, Access access, Handler<RoutingContext> handler) {
        declare(method, path, access, null, true).handler(handler);
    }

    /**
     * Declares an endpoint: its route's first handler names it for metrics, authenticates the
     * caller, applies its access rule and rate limit, and runs {@code check} before any body is
     * read; the handlers added to the returned route (a body handler, the endpoint's own) follow.
     *
     * @param readsBody whether a later handler reads (and so resumes) the request body
     */
    private io.vertx.ext.web.Route declare(HttpMethod method, String path, Access access,
                                           Handler<RoutingContext> check, boolean readsBody) {
        Endpoint endpoint = new Endpoint(method, java.util.Objects.requireNonNull(path),
                java.util.Objects.requireNonNull(access, "every route needs an access rule"));
        endpoints.add(endpoint);
        return router.route(method, path).handler(new Gate(endpoint.openApiPath(), access, check, readsBody));
    }

    /**
     * The first handler of an endpoint's route (see {@link #declare}). It is a
     * {@link io.vertx.ext.web.handler.SecurityPolicyHandler} to Vert.x only so that the body
     * handler may follow it on the same route (Vert.x refuses a body handler after a plain one):
     * with one route per endpoint rather than a gate route and an endpoint route, the router
     * matches each request's path and decodes its parameters once, not twice.
     */
    private final class Gate implements io.vertx.ext.web.handler.SecurityPolicyHandler {
        private final String label;
        private final Access access;
        private final Handler<RoutingContext> next;
        private final boolean readsBody;

        Gate(String label, Access access, Handler<RoutingContext> check, boolean readsBody) {
            this.label = label;
            this.access = access;
            this.next = check == null ? RoutingContext::next : check;
            this.readsBody = readsBody;
        }

        @Override
        public void handle(RoutingContext ctx) {
            ctx.put(ROUTE, label);
            if (access.kind() == Access.Kind.PUBLIC) {
                next.handle(ctx);
            } else {
                guard(ctx, access, next, readsBody);
            }
        }
    }

    /**
     * Authenticates, enforces the access rule, takes a rate-limit token; continues or fails the
     * request. Cached credentials and local buckets answer at once, and then the request goes on
     * in this same call; only a lookup that must wait (a cache miss, Redis) pauses the request,
     * since pausing and resuming costs the socket a round of read toggling.
     */
    private void guard(RoutingContext ctx, Access access, Handler<RoutingContext> next, boolean readsBody) {
        io.vertx.core.http.HttpServerRequest request = ctx.request();
        String ip = request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress();
        String authorization = request.getHeader(AUTHORIZATION);
        String apiKey = request.getHeader(API_KEY);
        // The common case, a known caller on local buckets, is decided here without futures.
        Principal known = authenticator.known(authorization, apiKey, ip);
        if (known != null) {
            try {
                access.enforce(known);
            } catch (ProblemException e) {
                ctx.fail(e);
                return;
            }
            Decision now = limits.admitNow(known);
            if (now != null) {
                ctx.put(PRINCIPAL, known);
                Decision decided = now == RequestLimits.UNLIMITED ? null : now;
                if (!limits.tokens().applies(known)) {
                    proceed(ctx, next, decided, null);
                    return;
                }
                Decision tokens = limits.tokens().peekNow(known);
                if (tokens != null) {
                    ctx.put(TOKENS, tokens);
                    proceed(ctx, next, decided, null);
                    return;
                }
                whenDecided(ctx, withTokens(ctx, known, decided), next, readsBody, "requests per minute");
                return;
            }
        }
        java.util.concurrent.CompletableFuture<Decision> admitted = authenticator.authenticate(authorization, apiKey, ip)
                .thenCompose(principal -> {
                    access.enforce(principal);
                    ctx.put(PRINCIPAL, principal);
                    return limits.admit(principal).thenCompose(d -> d == null || !d.allowed()
                            ? java.util.concurrent.CompletableFuture.completedFuture(d) : withTokens(ctx, principal, d));
                });
        whenDecided(ctx, admitted, next, readsBody, "requests per minute");
    }

    /**
     * The request decision once the caller's token figures are in {@code ctx} for the headers (they
     * are not refused here: only a prediction spends tokens, and the predictor refuses it).
     */
    private java.util.concurrent.CompletableFuture<Decision> withTokens(RoutingContext ctx, Principal caller,
                                                                        Decision decided) {
        if (!limits.tokens().applies(caller)) {
            return java.util.concurrent.CompletableFuture.completedFuture(decided);
        }
        return limits.tokens().peek(caller).thenApply(tokens -> {
            ctx.put(TOKENS, tokens);
            return decided;
        });
    }

    /** Takes a token from the client address's sign-in bucket, then continues or answers 429. */
    private void signIn(RoutingContext ctx, Handler<RoutingContext> next) {
        String ip = ctx.request().remoteAddress() == null ? "unknown" : ctx.request().remoteAddress().hostAddress();
        whenDecided(ctx, limits.admitSignIn(ip), next, true, "sign-in requests (register, login, refresh) per "
                + "minute from this address");
    }

    /**
     * Continues (or fails) the request once its rate-limit decision is known: in this same call when
     * it already is; otherwise holding the body meanwhile (the body's reader resumes it).
     */
    private static void whenDecided(RoutingContext ctx, java.util.concurrent.CompletableFuture<Decision> admitted,
                                    Handler<RoutingContext> next, boolean readsBody, String what) {
        if (admitted.isDone()) {
            admitted.handle((decision, error) -> {
                proceed(ctx, next, decision, error, what);
                return null;
            });
            return;
        }
        // Hold the body until the caller is admitted; the body's reader resumes it.
        io.vertx.core.http.HttpServerRequest request = ctx.request();
        request.pause();
        io.vertx.core.Context context = ctx.vertx().getOrCreateContext();
        admitted.whenComplete((decision, error) -> context.runOnContext(v -> {
            if (error != null || !readsBody || (decision != null && !decision.allowed())) {
                request.resume();
            }
            proceed(ctx, next, decision, error, what);
        }));
    }

    private static void proceed(RoutingContext ctx, Handler<RoutingContext> next, Decision decision, Throwable error) {
        proceed(ctx, next, decision, error, "requests per minute");
    }

    private static void proceed(RoutingContext ctx, Handler<RoutingContext> next, Decision decision, Throwable error,
                                String what) {
        if (error != null) {
            ctx.fail(error instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : error);
            return;
        }
        Decision tokens = ctx.get(TOKENS);
        if (tokens != null) {
            ctx.response().putHeader(LIMIT_TOKENS, Long.toString(tokens.limit()))
                    .putHeader(REMAINING_TOKENS, Long.toString(tokens.remaining()))
                    .putHeader(RESET_TOKENS, duration(tokens.resetSeconds()));
        }
        if (decision == null) {
            next.handle(ctx);
            return;
        }
        String limit = Long.toString(decision.limit());
        String remaining = Long.toString(decision.remaining());
        ctx.response().putHeader(RATE_LIMIT, limit)
                .putHeader(RATE_REMAINING, remaining)
                .putHeader(RATE_RESET, Long.toString(decision.resetSeconds()))
                .putHeader(LIMIT_REQUESTS, limit)
                .putHeader(REMAINING_REQUESTS, remaining)
                .putHeader(RESET_REQUESTS, duration(decision.resetSeconds()));
        if (!decision.allowed()) {
            ctx.fail(new ProblemException(ProblemType.RATE_LIMITED, "more than " + decision.limit()
                    + " " + what + "; retry in " + decision.retryAfterSeconds() + " s")
                    .retryAfter(decision.retryAfterSeconds()));
            return;
        }
        next.handle(ctx);
    }

    /** Seconds as OpenAI writes its resets (Go's duration format): {@code 0s}, {@code 45s}, {@code 6m0s}, {@code 2h5m0s}. */
    static String duration(long seconds) {
        if (seconds < 60) {
            return Math.max(0, seconds) + "s";
        }
        long hours = seconds / 3600;
        long minutes = seconds / 60 % 60;
        return (hours > 0 ? hours + "h" : "") + minutes + "m" + seconds % 60 + "s";
    }

    /** The caller of a guarded route (the anonymous principal on public routes). */
    static Principal principal(RoutingContext ctx) {
        Principal p = ctx.get(PRINCIPAL);
        if (p != null) {
            return p;
        }
        String ip = ctx.request().remoteAddress() == null ? "unknown" : ctx.request().remoteAddress().hostAddress();
        return Principal.anonymous(ip);
    }

    private static void requireContentType(RoutingContext ctx, boolean binaryAllowed) {
        String type = ctx.request().getHeader(io.vertx.core.http.HttpHeaders.CONTENT_TYPE);
        // indexOf, not split: trim and toLowerCase copy nothing when there is nothing to change
        int parameters = type == null ? -1 : type.indexOf(';');
        String base = type == null ? "" : (parameters < 0 ? type : type.substring(0, parameters)).trim()
                .toLowerCase(Locale.ROOT);
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
    private static final CharSequence TIMEOUT_HEADER = io.vertx.core.http.HttpHeaders.createOptimized(REQUEST_TIMEOUT);
    private static final long MAX_REQUEST_TIMEOUT_MS = 3_600_000;

    /** The {@code X-Request-Timeout} header, or empty for the server's default; 400 when it is not a deadline. */
    static Optional<Duration> requestTimeout(RoutingContext ctx) {
        String text = ctx.request().getHeader(TIMEOUT_HEADER);
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

    /** The header that tells whether an answer came from the response cache. */
    static final CharSequence X_CACHE = io.vertx.core.http.HttpHeaders.createOptimized("X-Cache");

    /** Whether the client asked for an answer not taken from a cache ({@code Cache-Control: no-cache}). */
    static boolean wantsFresh(RoutingContext ctx) {
        String control = ctx.request().getHeader(io.vertx.core.http.HttpHeaders.CACHE_CONTROL);
        return control != null && control.toLowerCase(Locale.ROOT).contains("no-cache");
    }

    /** Whether the request body is small enough to decode and bind on the event loop. */
    static boolean isSmall(RoutingContext ctx) {
        return ctx.body().length() <= PredictRequest.INLINE_BYTES;
    }

    /**
     * The prediction an HTTP request asks for: its caller, deadline ({@code Request-Timeout}),
     * {@code Cache-Control: no-cache}, body size and headers, with these inputs.
     */
    static PredictRequest predictRequest(RoutingContext ctx, Target target, Optional<Duration> timeout,
                                         Function<Signature, List<Tensor>> binder) {
        // Built whole, not with the with-methods: this runs for every predict call.
        return new PredictRequest(principal(ctx), target, binder, Set.of(), timeout, wantsFresh(ctx),
                ctx.body().length(), ctx.request()::getHeader, Parameters.NONE,
                dev.serveml.runtime.TokenSink.NONE, PredictRequest.Lane.ONLINE, RequestIds.of(ctx));
    }

    /**
     * Predicts and, on success, counts a cache hit, sets {@code X-Cache}, sends the answer with
     * {@code send} and runs the prediction's follow-up once the response has ended; a failure goes
     * to the router's error handler in the protocol's shape.
     */
    static void predict(RoutingContext ctx, Predictor predictor, PredictRequest request, Served served,
                        Handler<Prediction> send) {
        Future.fromCompletionStage(predictor.predict(request), ctx.vertx().getOrCreateContext())
                .onSuccess(prediction -> {
                    served.cacheHit(prediction.result().cache() == CacheStatus.HIT);
                    prediction.afterDelivery().ifPresent(after -> ctx.addEndHandler(done -> after.run()));
                    ctx.response().putHeader(X_CACHE, prediction.result().cache().label());
                    send.handle(prediction);
                })
                .onFailure(ctx::fail);
    }

    /** Nanoseconds since the request reached the router. */
    static long elapsedNanos(RoutingContext ctx) {
        Long started = ctx.get(STARTED);
        return started == null ? 0 : System.nanoTime() - started;
    }
}
