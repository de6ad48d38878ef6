package dev.serveml.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();

    public Meters() {
        new JvmMemoryMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
    }

    /** One HTTP request: {@code route} is the route pattern, never the raw path. */
    public void httpRequest(String method, String route, int status, long nanos) {
        String key = "h|" + method + '|' + route + '|' + status;
        timers.computeIfAbsent(key, k -> timer("serveml.http.requests", "HTTP requests by route and status",
                        "method", method, "route", route, "status", Integer.toString(status)))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** One model call (the runtime's own time, without queueing or JSON). */
    public void inference(String model, int version, long nanos) {
        String key = "i|" + model + '|' + version;
        timers.computeIfAbsent(key, k -> timer("serveml.inference", "Model inference time",
                        "model", model, "version", Integer.toString(version)))
                .record(nanos, TimeUnit.NANOSECONDS);
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
