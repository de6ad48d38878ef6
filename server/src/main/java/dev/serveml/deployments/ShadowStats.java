package dev.serveml.deployments;

import java.util.concurrent.atomic.LongAdder;

/**
 * What one deployment's shadow version has done since it became the shadow. Thread-safe.
 */
public final class ShadowStats {
    /**
     * A reading.
     *
     * @param requests      copies sent to the shadow
     * @param failures      copies that failed (never seen by clients)
     * @param skipped       copies not sent because too many were already running
     * @param agreementRate share of completed copies whose outputs agreed with the primary's (NaN when none)
     * @param meanLatencyMs mean time of the shadow calls
     */
    public record Reading(int version, long requests, long failures, long skipped, long agreements,
                          Double agreementRate, Double meanLatencyMs) {
    }

    private final int version;
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder skipped = new LongAdder();
    private final LongAdder agreements = new LongAdder();
    private final LongAdder compared = new LongAdder();
    private final LongAdder nanos = new LongAdder();

    ShadowStats(int version) {
        this.version = version;
    }

    int version() {
        return version;
    }

    void skipped() {
        skipped.increment();
    }

    void completed(long tookNanos, boolean agreed) {
        requests.increment();
        compared.increment();
        nanos.add(tookNanos);
        if (agreed) {
            agreements.increment();
        }
    }

    void failed(long tookNanos) {
        requests.increment();
        failures.increment();
        nanos.add(tookNanos);
    }

    /** Agreements over comparisons, or NaN before the first comparison. */
    double agreementRate() {
        long n = compared.sum();
        return n == 0 ? Double.NaN : (double) agreements.sum() / n;
    }

    public Reading read() {
        long n = requests.sum();
        double rate = agreementRate();
        return new Reading(version, n, failures.sum(), skipped.sum(), agreements.sum(),
                Double.isNaN(rate) ? null : rate, n == 0 ? null : nanos.sum() / 1e6 / n);
    }
}
