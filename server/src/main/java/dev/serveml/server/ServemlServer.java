package dev.serveml.server;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.serveml.artifacts.FilesystemArtifactStore;
import dev.serveml.audit.AuditLog;
import dev.serveml.store.PostgresUsageStore;
import dev.serveml.usage.UsageLog;
import dev.serveml.monitor.PredictionObserver;
import dev.serveml.cache.RedisSharedCache;
import dev.serveml.cache.ResponseCache;
import dev.serveml.cache.SharedCache;
import dev.serveml.auth.Identity;
import dev.serveml.ratelimit.LocalRateLimiter;
import dev.serveml.ratelimit.RateLimiter;
import dev.serveml.ratelimit.RedisRateLimiter;
import dev.serveml.ratelimit.RequestLimits;
import dev.serveml.store.PostgresAuditStore;
import dev.serveml.store.PostgresIdentityStore;
import dev.serveml.config.ServemlConfig;
import dev.serveml.deployments.Deployments;
import dev.serveml.store.PostgresDeploymentStore;
import dev.serveml.http.HttpApi;
import dev.serveml.http.OpenAiBatchLines;
import dev.serveml.hub.HubClient;
import dev.serveml.imports.Imports;
import dev.serveml.store.PostgresImportStore;
import dev.serveml.store.PostgresJobStore;
import dev.serveml.jobs.JobRunner;
import dev.serveml.jobs.Jobs;
import dev.serveml.inference.Batcher;
import dev.serveml.inference.Serving;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.ModelHost;
import dev.serveml.inference.Ticker;
import dev.serveml.metrics.Meters;
import dev.serveml.predict.Predictor;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.runtime.ModelRuntime;
import dev.serveml.runtime.Runtimes;
import dev.serveml.runtime.onnx.OnnxModelRuntime;
import dev.serveml.runtime.text.TextModelRuntime;
import dev.serveml.runtime.python.PythonModelRuntime;
import dev.serveml.stats.ServingStats;
import dev.serveml.store.Database;
import dev.serveml.store.PostgresModelStore;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One running ServeML: built in dependency order by {@link #start}, closed in reverse by
 * {@link #close}. No globals: two servers can run in one JVM (tests do).
 */
public final class ServemlServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServemlServer.class);

    private final Deque<AutoCloseable> closeables;
    private final int port;
    private final HttpApi api;
    /** How long a stopping server still answers new connections 503 before its listener stops. */
    private static final Duration DRAIN_GRACE = Duration.ofMillis(250);
    private final List<HttpServer> servers;
    private final Duration shutdownTimeout;
    private boolean closed;

    private ServemlServer(Deque<AutoCloseable> closeables, int port, HttpApi api, List<HttpServer> servers,
                          Duration shutdownTimeout) {
        this.closeables = closeables;
        this.port = port;
        this.api = api;
        this.servers = servers;
        this.shutdownTimeout = shutdownTimeout;
    }

    /**
     * Builds and starts everything; on failure closes what was already started. If the JVM is
     * told to exit while this runs (Ctrl-C during start-up), what was started is closed too, so
     * no PostgreSQL or Python worker outlives it.
     */
    public static ServemlServer start(ServemlConfig config) {
        long started = System.nanoTime();
        // Concurrent: the start-up hook may close while this thread is still starting things.
        Deque<AutoCloseable> closeables = new ConcurrentLinkedDeque<>();
        Thread abortHook = new Thread(() -> closeAll(closeables), "serveml-startup-abort");
        Runtime.getRuntime().addShutdownHook(abortHook);
        try {
            createDirectories(config);
            ObjectMapper json = objectMapper();
            Meters meters = new Meters();
            Database database = push(closeables, Database.open(config.database(), config.storage().postgresDir()));
            closeables.push(database.watch(java.time.Duration.ofSeconds(1)));
            FilesystemArtifactStore artifacts = new FilesystemArtifactStore(config.storage().artifactsDir());
            PostgresModelStore models = new PostgresModelStore(database.dataSource(), json);
            offlineTokenizers(config.storage().dataDir().resolve("djl"));
            // Text first: it claims only archives holding a Hugging Face repository (config.json,
            // tokenizer.json, an ONNX export), which would otherwise be ONNX's when they hold one
            // .onnx file. ONNX next: it claims only archives holding exactly one .onnx file and no
            // Python model.
            List<ModelRuntime> runtimes = List.of(push(closeables, new TextModelRuntime(config.runtime(),
                            config.storage().dataDir().resolve("text").resolve("run"),
                            4 * config.storage().maxUploadBytes())),
                    push(closeables, new OnnxModelRuntime(config.runtime(),
                            config.storage().dataDir().resolve("onnx").resolve("run"),
                            4 * config.storage().maxUploadBytes())),
                    push(closeables, new PythonModelRuntime(config.python(), json, meters,
                            4 * config.storage().maxUploadBytes())));
            AuditLog audit = push(closeables, new AuditLog(new PostgresAuditStore(database.dataSource(), json)));
            // Closed after the HTTP servers (pushed later, closed first) and before the database: the
            // last answers' usage is written.
            UsageLog usage = push(closeables, new UsageLog(new PostgresUsageStore(database.dataSource()),
                    InstantSource.system(), java.time.Duration.ofSeconds(1)));
            // Threads, the rule: virtual threads only for work that waits on sockets (JDBC here), never
            // for blocking pipe or file reads or process waits: a virtual thread blocked there holds
            // its carrier, and there are only as many carriers as cores (2 on a small machine). Those
            // go to platform threads (the Python runtime reads its workers' and pip's output on them).
            ExecutorService identityLoads = Executors.newVirtualThreadPerTaskExecutor();
            closeables.push(identityLoads::shutdown);
            Identity identity = Identity.start(config.auth(), new PostgresIdentityStore(database.dataSource()),
                    config.storage().dataDir().resolve("secrets"), InstantSource.system(), identityLoads, audit);
            RateLimiter limiter = push(closeables, config.redis().url()
                    .<RateLimiter>map(url -> new RedisRateLimiter(url, InstantSource.system()))
                    .orElseGet(() -> new LocalRateLimiter(InstantSource.system())));
            RequestLimits limits = new RequestLimits(limiter, config.auth());
            ExecutorService inferencePool = Executors.newFixedThreadPool(config.runtime().inferenceThreads(),
                    named("serveml-inference"));
            closeables.push(() -> {
                inferencePool.shutdown();
                inferencePool.awaitTermination(10, TimeUnit.SECONDS);
            });
            ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(named("serveml-scheduler"));
            closeables.push(timers::shutdownNow);
            Ticker ticker = Ticker.system(timers);
            // Loads get their own platform threads (a load reads archives and process pipes): a slow
            // load then holds one of these, never an inference thread that other models' calls need.
            // Loads of distinct versions run at once up to this many; callers wait on futures.
            ExecutorService loadPool = Executors.newFixedThreadPool(config.runtime().inferenceThreads(),
                    named("serveml-load"));
            closeables.push(() -> {
                loadPool.shutdownNow();
                loadPool.awaitTermination(10, TimeUnit.SECONDS);
            });
            // Validation loads have their own bounded pool of platform threads (a load may block in a
            // process pipe): slow uploads never hold the Vert.x workers that sign-ins and reads need.
            ThreadPoolExecutor validations = new ThreadPoolExecutor(config.storage().uploadThreads(),
                    config.storage().uploadThreads(), 0, TimeUnit.MILLISECONDS,
                    config.storage().uploadQueue() == 0 ? new SynchronousQueue<>()
                            : new ArrayBlockingQueue<>(config.storage().uploadQueue()),
                    named("serveml-upload-validation"));
            ModelRegistry registry = new ModelRegistry(models, artifacts, new Runtimes(runtimes), audit,
                    config.storage(), validations);
            ModelHost host = push(closeables, new ModelHost(registry::load,
                    config.hosting(), Serving.defaults(config.batching(), config.hosting()),
                    (v, loaded, serving) -> new Batcher(loaded, v.modelName(), v.version(), loaded.batchable(),
                            serving.batching(config.batching()),
                            loaded.concurrency() > 0 ? loaded.concurrency() : config.runtime().inferenceThreads(),
                            inferencePool, ticker, meters),
                    loadPool, config.batching().queueCapacity(), ticker, meters));
            registry.subscribe(host);
            // Closed before the host: a validation still running hands its model to a live host.
            closeables.push(() -> {
                validations.shutdownNow();
                validations.awaitTermination(10, TimeUnit.SECONDS);
            });
            // Deployments set their own idle times, so the sweep always runs; it is cheap.
            timers.scheduleWithFixedDelay(() -> {
                try {
                    host.sweepIdle();
                } catch (RuntimeException e) {
                    log.warn("idle unload sweep failed: {}", e.toString()); // the next sweep tries again
                }
            }, 1, 1, TimeUnit.SECONDS);
            ResponseCache cache = push(closeables, new ResponseCache(config.cache(), config.redis().url()
                    .<SharedCache>map(url -> new RedisSharedCache(url, InstantSource.system())), meters,
                    com.github.benmanes.caffeine.cache.Ticker.systemTicker(),
                    // maintenance delayed so that the drains hits ask for coalesce (see LocalRateLimiter)
                    java.util.concurrent.CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS)));
            InferenceService inference = new InferenceService(registry, host, inferencePool, ticker,
                    config.batching().requestTimeout(), limits, cache, meters);

            // What watches every prediction (the one way in tells it, and deployments of their shadow copies).
            List<PredictionObserver> observers = new ArrayList<>();
            PredictionObserver monitor = PredictionObserver.all(observers);

            // Platform threads: a rollout extracts archives, runs pip and starts worker processes.
            ExecutorService rollouts = Executors.newCachedThreadPool(named("serveml-rollout"));
            closeables.push(rollouts::shutdownNow);
            Deployments deployments = new Deployments(new PostgresDeploymentStore(database.dataSource(), json),
                    registry, host, inference, rollouts, meters, audit, config.batching().requestTimeout(), monitor);
            deployments.resume();

            // Hub imports get platform threads of their own, as many as validate uploads (an import is an
            // upload from the Hub): a download blocks on a socket and a file for as long as it takes, which
            // must hold neither an HTTP worker nor a virtual thread's carrier. Closed before the Hub client
            // (the pool's threads are interrupted first), so a stalled transfer never holds the stop.
            HubClient hub = push(closeables, new HubClient(config.hub()));
            ThreadPoolExecutor importPool = new ThreadPoolExecutor(config.storage().uploadThreads(),
                    config.storage().uploadThreads(), 0, TimeUnit.MILLISECONDS,
                    new ArrayBlockingQueue<>(Math.max(1, config.storage().uploadQueue())), named("serveml-import"));
            ThreadPoolExecutor hubChecks = new ThreadPoolExecutor(config.storage().uploadThreads(),
                    config.storage().uploadThreads(), 0, TimeUnit.MILLISECONDS,
                    new ArrayBlockingQueue<>(Math.max(1, config.storage().uploadQueue())), named("serveml-hub-check"));
            Imports imports = push(closeables, new Imports(new PostgresImportStore(database.dataSource(), json),
                    registry, hub, audit, config.storage().maxUploadBytes(), config.storage().uploadsDir(), importPool,
                    hubChecks, InstantSource.system(), config.storage().maxUploadsPerUser()));
            imports.resume();

            Vertx vertx = Vertx.vertx(new VertxOptions()
                    .setEventLoopPoolSize(config.http().eventLoops())
                    .setWorkerPoolSize(config.http().workerThreads()));
            closeables.push(() -> vertx.close().await(10, TimeUnit.SECONDS));
            ServingStats stats = new ServingStats(InstantSource.system());
            timers.scheduleWithFixedDelay(stats::sweep, 1, 1, TimeUnit.MINUTES);
            Predictor predictor = new Predictor(inference, deployments, limits.tokens(), usage, monitor);
            // Batch jobs: their own platform threads (they read and write files and wait on model calls),
            // closed before the database (pushed after it) and after the HTTP servers (pushed before them).
            PostgresJobStore jobStore = new PostgresJobStore(database.dataSource(), json);
            JobRunner jobRunner = push(closeables, new JobRunner(jobStore, artifacts, predictor,
                    new OpenAiBatchLines(predictor, json), config.jobs(),
                    config.runtime().inferenceThreads(), json, config.storage().dataDir().resolve("jobs-staging"),
                    meters, InstantSource.system()));
            Jobs jobs = new Jobs(jobStore, artifacts, registry, deployments, json, config.jobs().retention(),
                    config.storage().quotaBytesPerUser(),
                    InstantSource.system(), jobRunner::wake);
            HttpApi api = new HttpApi(vertx, config.http(), config.storage(), config.auth(), json, meters, registry,
                    host, predictor, deployments, imports, database, identity, limits, audit, usage, stats, jobs);
            List<HttpServer> servers = listen(vertx, api, config);
            jobRunner.start();
            int port = servers.get(0).actualPort();
            log.info("ServeML listening on http://{}:{} ({} mode, data in {}), ready in {} ms",
                    config.http().host(), port, config.database().embedded() ? "embedded" : "external database",
                    config.storage().dataDir(), (System.nanoTime() - started) / 1_000_000);
            return new ServemlServer(closeables, port, api, servers, config.http().shutdownTimeout());
        } catch (Exception | Error e) {
            // Everything started so far stops, PostgreSQL included, whatever was thrown (Vert.x's
            // await rethrows a checked BindException unwrapped).
            closeAll(closeables);
            if (e instanceof RuntimeException || e instanceof Error) {
                throw e;
            }
            throw new IllegalStateException("ServeML failed to start: " + e, e);
        } finally {
            // From here the caller owns the server (Main closes it on SIGTERM).
            try {
                Runtime.getRuntime().removeShutdownHook(abortHook);
            } catch (IllegalStateException e) {
                // the JVM is already exiting: the hook is running or has run
            }
        }
    }

    /**
     * One HTTP server per event loop, all on one port: Vert.x shares servers whose options name
     * the same host and port, so with port 0 the first picks a port and the others join it.
     */
    private static List<HttpServer> listen(Vertx vertx, HttpApi api, ServemlConfig config) {
        List<HttpServer> servers = new ArrayList<>();
        HttpServerOptions options = HttpApi.serverOptions(config.http());
        for (int i = 0; i < config.http().eventLoops(); i++) {
            HttpServerVerticle verticle = new HttpServerVerticle(api, new HttpServerOptions(options));
            try {
                vertx.deployVerticle(verticle, new DeploymentOptions()).await(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("the HTTP server did not start within 30 s", e);
            } catch (Exception e) {
                if (e instanceof java.net.BindException) {
                    throw new IllegalStateException("cannot listen on " + config.http().host() + ":" + config.http().port()
                            + " (" + e.getMessage() + "); set SERVEML_HTTP_PORT or SERVEML_HTTP_HOST to a free address", e);
                }
                throw e;
            }
            servers.add(verticle.server());
        }
        return List.copyOf(servers);
    }

    /** Owns one HTTP server on its own event loop. */
    private static final class HttpServerVerticle extends AbstractVerticle {
        private final HttpApi api;
        private final HttpServerOptions options;
        private volatile HttpServer server;

        HttpServerVerticle(HttpApi api, HttpServerOptions options) {
            this.api = api;
            this.options = options;
        }

        @Override
        public void start(Promise<Void> promise) {
            api.serve(vertx, vertx.createHttpServer(options)).listen()
                    .onSuccess(listening -> {
                        server = listening;
                        promise.complete();
                    })
                    .onFailure(promise::fail);
        }

        HttpServer server() {
            return server;
        }
    }

    public int port() {
        return port;
    }

    public HttpApi api() {
        return api;
    }

    /** The one JSON mapper the server reads and writes with (tests take it from here too). */
    public static ObjectMapper objectMapper() {
        return JsonMapper.builder()
                // Request bodies are mostly numbers (a 256-feature row is 256 of them): parse them fast.
                .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
                .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
                .addModule(new JavaTimeModule())
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .build();
    }

    /** Free space a first start needs: PostgreSQL's binaries (~60 MB) and a new cluster with its WAL (~50 MB). */
    static final long FIRST_START_BYTES = 160L << 20;
    /** Free space any start needs, so that PostgreSQL can write and uploads can be staged at all. */
    static final long START_BYTES = 32L << 20;

    /**
     * DJL's tokenizers must never reach for the network (no model zoo, no usage tracking, no
     * download of a native flavour), and unpack their natives under the data directory, not the
     * user's home. They read these as environment variables first, then as system properties;
     * a value the environment already sets is left as it is.
     */
    private static void offlineTokenizers(Path cacheDir) {
        System.setProperty("DJL_OFFLINE", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("RUST_FLAVOR", "cpu");
        if (System.getenv("DJL_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
            System.setProperty("DJL_CACHE_DIR", cacheDir.toString());
        }
    }

    private static void createDirectories(ServemlConfig config) {
        Path dataDir = config.storage().dataDir();
        try {
            Files.createDirectories(dataDir);
            Files.createDirectories(config.storage().uploadsDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory " + dataDir, e);
        }
        requireSpace(config);
    }

    /**
     * Says how much room a start needs before anything fails for want of it (initdb's own words
     * never said "disk full").
     */
    private static void requireSpace(ServemlConfig config) {
        Path dataDir = config.storage().dataDir();
        boolean firstEmbedded = config.database().embedded()
                && !Files.exists(config.storage().postgresDir().resolve("data").resolve("PG_VERSION"));
        long needed = firstEmbedded ? FIRST_START_BYTES : START_BYTES;
        long free;
        try {
            free = Files.getFileStore(dataDir).getUsableSpace();
        } catch (IOException e) {
            return; // cannot tell: the start goes on and says what fails
        }
        if (free < needed) {
            throw new IllegalStateException("the data directory " + dataDir + " has " + (free >> 20) + " MB free; "
                    + "ServeML needs at least " + (needed >> 20) + " MB there" + (firstEmbedded
                    ? " for its first start (the embedded PostgreSQL's binaries and a new database)" : "")
                    + ". Free some space, or set SERVEML_DATA_DIR to a directory on a larger disk");
        }
    }

    private static <T extends AutoCloseable> T push(Deque<AutoCloseable> closeables, T closeable) {
        closeables.push(closeable);
        return closeable;
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Stops gracefully: readiness turns DOWN, the listener stops accepting, requests in flight
     * finish (each bounded by its deadline, all by the shutdown timeout) and their connections
     * close, and only then do the workers, the model runtimes and PostgreSQL stop, in reverse
     * order of their start. Idempotent; blocks until everything is stopped.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        drain();
        closeAll(closeables);
    }

    private void drain() {
        long started = System.nanoTime();
        int open = api.openConnections();
        api.drain();
        // A connection accepted in the instant before the listener stops has sent its request but
        // not yet been read: the stop below would close it as idle, unanswered. For a moment the
        // listener still takes connections and answers each 503 "stopping" (as a load balancer's
        // drain would), so that none is taken and dropped.
        if (!shutdownTimeout.isZero()) {
            try {
                Thread.sleep(Math.min(DRAIN_GRACE.toMillis(), shutdownTimeout.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // Each server stops accepting at once; an idle connection closes at once, a busy one once
        // its answer is sent, and whatever is still running at the timeout is closed then.
        List<Future<Void>> stopped = servers.stream().map(s -> s.shutdown(shutdownTimeout)).toList();
        try {
            Future.join(stopped).await(shutdownTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            log.warn("the HTTP listener did not stop within {} s; going on with the stop", shutdownTimeout.toSeconds());
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        if (!shutdownTimeout.isZero() && ms >= shutdownTimeout.toMillis()) {
            log.warn("requests were still running after {} ms (SERVEML_SHUTDOWN_TIMEOUT); their connections were "
                    + "closed", ms);
        } else {
            log.info("HTTP stopped in {} ms (open connections at the start: {})", ms, open);
        }
    }

    private static void closeAll(Deque<AutoCloseable> closeables) {
        while (!closeables.isEmpty()) {
            AutoCloseable c = closeables.pop();
            try {
                c.close();
            } catch (Exception e) {
                log.warn("error while shutting down: {}", e.toString());
            }
        }
    }
}
