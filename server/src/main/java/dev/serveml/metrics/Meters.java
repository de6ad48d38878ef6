package dev.serveml.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * Every meter ServeML publishes. Timers use fixed service-level buckets (0.5 ms to 10 s) so the
 * exposition stays small. Thread-safe.
 */
public final class Meters {
    private static final Duration[] BUCKETS = {
            Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5),
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
            Duration.ofSeconds(5), Duration.ofSeconds(10)};

    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    // Keyed by small records, not concatenated strings: the per-request meters are looked up on
    // every call, and a record key costs one small allocation where a string costs a copy of each part.
    private final ConcurrentHashMap<Object, Timer> timers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Object, DistributionSummary> summaries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Object, Counter> counters = new ConcurrentHashMap<>();

    private record HttpKey(String method, String route, int status) {
    }

    private record VersionKey(char kind, String model, int version) {
    }

    private record PredictionKey(String model, int version, String cache) {
    }
    private final ConcurrentHashMap<String, AtomicInteger> depths = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> running = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, java.util.function.DoubleSupplier> agreementSources =
            new ConcurrentHashMap<>();

    /**
     * The meter kept under {@code key}, made on first use. Read without a lock first:
     * {@code computeIfAbsent} returns without locking only for the first key of a hash bin and
     * locks the bin otherwise, and the per-request meters are looked up by every thread.
     */
    private static <M> M meter(ConcurrentHashMap<Object, M> meters, Object key,
                               java.util.function.Function<Object, M> make) {
        M found = meters.get(key);
        return found != null ? found : meters.computeIfAbsent(key, make);
    }

    public Meters() {
        new JvmMemoryMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
    }

    /** One HTTP request: {@code route} is the route pattern, never the raw path. */
    public void httpRequest(String method, String route, int status, long nanos) {
        meter(timers, new HttpKey(method, route, status), k -> timer("serveml.http.requests", "HTTP requests by route and status",
                        "method", method, "route", route, "status", Integer.toString(status)))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** One answered prediction, whether computed or from the cache ({@code cache}: hit, miss, bypass, off). */
    public void prediction(String model, int version, String cache) {
        meter(counters, new PredictionKey(model, version, cache), k -> Counter.builder("serveml.predictions")
                .description("Predictions answered, by model, version and cache outcome")
                .tags("model", model, "version", Integer.toString(version), "cache", cache).register(registry))
                .increment();
    }

    /** Workers started again for a version whose idle workers had been stopped. */
    public void coldStart(String model, long nanos) {
        timer("serveml.cold.start", "Time to start a stopped model's workers on demand",
                "model", model).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void modelLoaded(String model, int version, long nanos) {
        timer("serveml.model.load", "Time to load a model version into memory",
                "model", model, "version", Integer.toString(version)).record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The meters of one version's queue and model calls, for its scheduler to keep: they are
     * recorded on every call, and a handle spares each of them a lookup. Every load of the version
     * gets the same meters.
     */
    public VersionCalls calls(String model, int version) {
        String v = Integer.toString(version);
        return new VersionCalls(
                meter(timers, new VersionKey('q', model, version), k -> timer("serveml.queue.time",
                        "Time requests wait in a version's queue", "model", model, "version", v)),
                meter(summaries, new VersionKey('b', model, version), k -> DistributionSummary.builder(
                                "serveml.batch.size").description("Rows per model call").baseUnit("rows")
                        .tags("model", model, "version", v).serviceLevelObjectives(BATCH_BUCKETS).register(registry)),
                meter(timers, new VersionKey('i', model, version), k -> timer("serveml.inference",
                        "Model inference time", "model", model, "version", v)));
    }

    /** See {@link #calls}. Thread-safe. */
    public record VersionCalls(Timer queueTime, DistributionSummary batchSize, Timer inference) {
        /** Time a request waited in the version's queue before its batch started. */
        public void queued(long nanos) {
            queueTime.record(nanos, TimeUnit.NANOSECONDS);
        }

        /**
         * One model call made by the scheduler (the runtime's own time, without queueing or JSON).
         *
         * @param rows rows in the call (1 when batching is off)
         */
        public void ran(int rows, long nanos) {
            batchSize.record(rows);
            inference.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * The live count of requests queued for a version; the scheduler adds and subtracts, the gauge
     * reads it. The same counter is returned for every load of the version.
     */
    public AtomicInteger queueDepth(String model, int version) {
        return depths.computeIfAbsent(model + '|' + version, k -> {
            AtomicInteger depth = new AtomicInteger();
            Gauge.builder("serveml.queue.depth", depth, AtomicInteger::get)
                    .description("Requests waiting in a version's queue")
                    .tags("model", model, "version", Integer.toString(version)).register(registry);
            return depth;
        });
    }

    /**
     * Model calls of a version running now: for a text generator, the generations in progress (a
     * stream whose client went away leaves it at once).
     */
    public AtomicInteger inFlight(String model, int version) {
        return running.computeIfAbsent(model + '|' + version, k -> {
            AtomicInteger n = new AtomicInteger();
            Gauge.builder("serveml.calls.in.flight", n, AtomicInteger::get)
                    .description("Model calls running now (for a text generator: generations in progress)")
                    .tags("model", model, "version", Integer.toString(version)).register(registry);
            return n;
        });
    }

    /** A request refused by the scheduler: {@code reason} is {@code queue_full} or {@code timeout}. */
    public void rejected(String model, int version, String reason) {
        count("serveml.requests.rejected", "Requests refused by the scheduler (503 queue full, 504 timeout)",
                model, version, "reason", reason);
    }

    /**
     * One response-cache lookup: {@code result} is hit, miss or bypass; {@code level} the tier
     * (l1 in process, l2 Redis). Cheap: the counters are looked up, not built, after the first.
     */
    public void cacheRequest(String result, String level) {
        meter(counters, "c|" + result + '|' + level, k -> Counter.builder("serveml.cache.requests")
                        .description("Response cache lookups by result and tier").tags("result", result, "level", level)
                        .register(registry))
                .increment();
    }

    /** A version loaded by the host. */
    public void modelLoad(String model, int version) {
        count("serveml.model.loads", "Model versions loaded into memory", model, version);
    }

    /** A version dropped from memory, for any reason (evictions are also counted on their own). */
    public void modelUnload(String model, int version) {
        count("serveml.model.unloads", "Model versions unloaded from memory", model, version);
    }

    /** A version unloaded to make room under the memory budget. */
    public void modelEviction(String model, int version) {
        count("serveml.model.evictions", "Model versions unloaded to stay within the memory budget", model, version);
    }

    /** A call to a deployment, by the version that the traffic policy chose. */
    public void deploymentRequest(String deployment, int version) {
        deploymentCount("serveml.deployment.requests", "Calls to a deployment by the version that served them",
                deployment, version);
    }

    /** A deployment call refused by the scheduler: {@code reason} is {@code queue_full} or {@code timeout}. */
    public void deploymentRejected(String deployment, int version, String reason) {
        deploymentCount("serveml.deployment.requests.rejected",
                "Deployment calls refused by the scheduler (503 queue full, 504 timeout)", deployment, version,
                "reason", reason);
    }

    /**
     * One copy of a call run on a deployment's shadow version.
     *
     * @param outcome {@code agree}, {@code disagree} or {@code failed}
     */
    public void shadow(String deployment, int version, long nanos, String outcome) {
        timers.computeIfAbsent("s|" + deployment + '|' + version, k -> timer("serveml.shadow.latency",
                        "Time of shadow calls", "deployment", deployment, "version", Integer.toString(version)))
                .record(nanos, TimeUnit.NANOSECONDS);
        deploymentCount("serveml.shadow.comparisons", "Shadow calls by whether they agreed with the primary",
                deployment, version, "outcome", outcome);
    }

    /**
     * Publishes a deployment's shadow agreement rate (agreements over comparisons; NaN before the
     * first) as read from {@code rate}, which replaces any earlier source for the same version.
     */
    public void shadowAgreement(String deployment, int version, java.util.function.DoubleSupplier rate) {
        String key = deployment + '|' + version;
        if (agreementSources.put(key, rate) == null) {
            Gauge.builder("serveml.shadow.agreement.ratio", () -> agreementSources.getOrDefault(key, () -> Double.NaN)
                            .getAsDouble())
                    .description("Share of shadow calls whose outputs agreed with the primary's")
                    .tags("deployment", deployment, "version", Integer.toString(version)).register(registry);
        }
    }

    private void deploymentCount(String name, String help, String deployment, int version, String... extraTags) {
        String key = name + '|' + deployment + '|' + version + '|' + String.join("|", extraTags);
        counters.computeIfAbsent(key, k -> Counter.builder(name).description(help)
                        .tags("deployment", deployment, "version", Integer.toString(version)).tags(extraTags)
                        .register(registry))
                .increment();
    }

    private void count(String name, String help, String model, int version, String... extraTags) {
        String key = name + '|' + model + '|' + version + '|' + String.join("|", extraTags);
        counters.computeIfAbsent(key, k -> Counter.builder(name).description(help)
                        .tags("model", model, "version", Integer.toString(version)).tags(extraTags).register(registry))
                .increment();
    }

    /** Rows of batch jobs scored: {@code outcome} is {@code done} (in a result) or {@code failed} (in an errors file). */
    public void jobRows(String outcome, long rows) {
        meter(counters, "j|" + outcome, k -> Counter.builder("serveml.job.rows")
                .description("Rows of batch jobs scored, by outcome (done: in the result; failed: in the errors file)")
                .tags("outcome", outcome).register(registry)).increment(rows);
    }

    /**
     * The batch job gauges, read from {@code counts} (kept fresh by the job maintenance, never a
     * database call per scrape): jobs by status, and chunks waiting to be scored.
     */
    public void jobGauges(java.util.function.Supplier<java.util.Map<String, Long>> byStatus,
                          java.util.function.LongSupplier openChunks) {
        for (String status : java.util.List.of("queued", "running", "completed", "failed", "cancelling", "cancelled")) {
            Gauge.builder("serveml.jobs", byStatus, m -> m.get().getOrDefault(status, 0L))
                    .description("Batch jobs by status, on every replica").tags("status", status).register(registry);
        }
        Gauge.builder("serveml.job.queue.chunks", openChunks, s -> (double) s.getAsLong())
                .description("Chunks of running batch jobs not scored yet, on every replica").register(registry);
    }

    public <T> void gauge(String name, String help, T state, ToDoubleFunction<T> value) {
        Gauge.builder(name, state, value).description(help).register(registry);
    }

    private Timer timer(String name, String help, String... tags) {
        return Timer.builder(name).description(help).tags(tags).serviceLevelObjectives(BUCKETS).register(registry);
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }
}
