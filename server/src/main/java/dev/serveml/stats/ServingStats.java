package dev.serveml.stats;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How each model and deployment has served over the last hour, for their owners' charts: per
 * key, a ring of fixed steps (10 s by default) counting answered calls, server errors (5xx),
 * client errors (4xx), cache hits, and the latencies of successful calls in a log-scale
 * histogram ({@link LatencyBins}).
 *
 * <p>Memory is bounded: at most {@code maxKeys} keys per kind, each at most one bucket per step
 * of the window; keys with no call in the window are dropped by {@link #sweep()}, deleted
 * models and deployments by {@link #forget}. When every key slot is taken by a live key, calls
 * on new keys are not counted (see {@link #dropped()}) rather than growing without bound.
 *
 * <p>Thread-safe; {@link #record} takes no lock and allocates only on a key's first call and
 * once per step.
 */
public final class ServingStats {
    /** What a key names. Model and deployment names are separate name spaces. */
    public enum Kind { MODEL, DEPLOYMENT }

    /**
     * One step of the window.
     *
     * @param at           when the step began
     * @param requests     calls answered in the step, successful or not
     * @param errors       answers with status 500 or above
     * @param clientErrors answers with status 400 to 499
     * @param cacheHits    successful answers taken from the response cache
     * @param p50Ms        median latency of the successful answers, ms; null when there were none
     */
    public record Point(Instant at, long requests, long errors, long clientErrors, long cacheHits, Double p50Ms,
                       Double p95Ms, Double p99Ms) {
    }

    /**
     * The last {@code summarySeconds} (or since the first call in them, if later).
     *
     * @param errorRate    server errors per call, 0..1; null without calls
     * @param cacheHitRate cache hits per call, 0..1; null without calls
     */
    public record Summary(long requests, double requestsPerMinute, Double p50Ms, Double p95Ms, Double p99Ms,
                          Double errorRate, Double cacheHitRate) {
    }

    /**
     * A key's figures: one point per step from the oldest step in the window that saw a call to
     * the current (partial) step, steps without calls included with zero counts, oldest first;
     * no points when nothing was called in the window.
     */
    public record Report(long stepSeconds, long windowSeconds, long summarySeconds, List<Point> points,
                         Summary summary) {
    }

    public static final Duration DEFAULT_STEP = Duration.ofSeconds(10);
    public static final Duration DEFAULT_WINDOW = Duration.ofHours(1);
    public static final int DEFAULT_MAX_KEYS = 1_000;
    private static final Duration SUMMARY = Duration.ofMinutes(5);

    private final InstantSource clock;
    private final long stepMillis;
    private final int slots;
    private final int summarySteps;
    private final int maxKeys;
    private final Map<Kind, ConcurrentHashMap<String, Series>> keys = Map.of(
            Kind.MODEL, new ConcurrentHashMap<>(), Kind.DEPLOYMENT, new ConcurrentHashMap<>());
    private final LongAdder dropped = new LongAdder();
    private volatile long lastFullSweep = Long.MIN_VALUE;

    public ServingStats(InstantSource clock) {
        this(clock, DEFAULT_STEP, DEFAULT_WINDOW, DEFAULT_MAX_KEYS);
    }

    /**
     * @param step    the width of a bucket; divides {@code window}
     * @param window  how far back figures are kept
     * @param maxKeys most keys kept per kind
     */
    public ServingStats(InstantSource clock, Duration step, Duration window, int maxKeys) {
        if (step.toMillis() < 1 || window.toMillis() % step.toMillis() != 0 || window.compareTo(step) < 0
                || maxKeys < 1) {
            throw new IllegalArgumentException("the window must be a whole number of steps of 1 ms or more, "
                    + "and maxKeys at least 1");
        }
        this.clock = clock;
        this.stepMillis = step.toMillis();
        this.slots = (int) (window.toMillis() / stepMillis);
        this.summarySteps = (int) Math.max(1, Math.min(slots, SUMMARY.toMillis() / stepMillis));
        this.maxKeys = maxKeys;
    }

    /**
     * Counts one answered call. Never throws for any name or status.
     *
     * @param latencyNanos from the request's arrival to its answer
     * @param status       the HTTP status answered
     * @param cacheHit     whether the answer came from the response cache
     */
    public void record(Kind kind, String name, long latencyNanos, int status, boolean cacheHit) {
        long step = clock.millis() / stepMillis;
        ConcurrentHashMap<String, Series> map = keys.get(kind);
        Series s = map.get(name);
        if (s == null) {
            if (map.size() >= maxKeys) {
                if (lastFullSweep != step) {
                    // At most one sweep per step, so a flood of new names cannot make every call sweep.
                    lastFullSweep = step;
                    sweep();
                }
                if (map.size() >= maxKeys) {
                    dropped.increment();
                    return;
                }
            }
            s = map.computeIfAbsent(name, n -> new Series(slots, step));
        }
        s.record(step, latencyNanos, status, cacheHit);
    }

    /** Drops a key's figures (its model or deployment was deleted; a new one of the name starts afresh). */
    public void forget(Kind kind, String name) {
        keys.get(kind).remove(name);
    }

    /** Drops the keys with no call in the window. Cheap: reads one field per key. */
    public void sweep() {
        long oldest = clock.millis() / stepMillis - slots + 1;
        keys.values().forEach(map -> map.values().removeIf(s -> s.lastStep() < oldest));
    }

    /** Calls not counted because every key slot was taken. */
    public long dropped() {
        return dropped.sum();
    }

    /** How many keys of a kind are held now. */
    public int size(Kind kind) {
        return keys.get(kind).size();
    }

    /** The key's figures over the window; an empty report if it saw no call in the window. */
    public Report report(Kind kind, String name) {
        long nowMillis = clock.millis();
        long now = nowMillis / stepMillis;
        long oldest = now - slots + 1;
        Series s = keys.get(kind).get(name);
        List<Point> points = new ArrayList<>();
        long first = Long.MIN_VALUE;
        long summaryFrom = now - summarySteps + 1;
        long requests = 0;
        long errors = 0;
        long hits = 0;
        long[] latencies = new long[LatencyBins.COUNT];
        for (long step = oldest; s != null && step <= now; step++) {
            Series.Bucket b = s.read(step);
            if (b == null && first == Long.MIN_VALUE) {
                continue;
            }
            if (first == Long.MIN_VALUE) {
                first = step;
            }
            points.add(point(step, b));
            if (b != null && step >= summaryFrom) {
                requests += b.count(Series.REQUESTS);
                errors += b.count(Series.SERVER_ERRORS);
                hits += b.count(Series.CACHE_HITS);
                b.addLatencies(latencies);
            }
        }
        long since = Math.max(summaryFrom, first) * stepMillis;
        double minutes = Math.max(stepMillis, nowMillis - since) / 60_000.0;
        Summary summary = new Summary(requests, requests == 0 ? 0 : requests / minutes,
                ms(latencies, 0.50), ms(latencies, 0.95), ms(latencies, 0.99),
                requests == 0 ? null : (double) errors / requests, requests == 0 ? null : (double) hits / requests);
        return new Report(stepMillis / 1000, slots * stepMillis / 1000, summarySteps * stepMillis / 1000,
                List.copyOf(points), summary);
    }

    private Point point(long step, Series.Bucket b) {
        Instant at = Instant.ofEpochMilli(step * stepMillis);
        if (b == null) {
            return new Point(at, 0, 0, 0, 0, null, null, null);
        }
        long[] latencies = new long[LatencyBins.COUNT];
        b.addLatencies(latencies);
        return new Point(at, b.count(Series.REQUESTS), b.count(Series.SERVER_ERRORS), b.count(Series.CLIENT_ERRORS),
                b.count(Series.CACHE_HITS), ms(latencies, 0.50), ms(latencies, 0.95), ms(latencies, 0.99));
    }

    private static Double ms(long[] latencies, double q) {
        double v = LatencyBins.quantileMillis(latencies, q);
        return Double.isNaN(v) ? null : Math.round(v * 1000) / 1000.0;
    }
}
