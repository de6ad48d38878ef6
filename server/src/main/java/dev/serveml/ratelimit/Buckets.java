package dev.serveml.ratelimit;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.EstimationProbe;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;

/** The bucket configuration for a {@link Limit}, and a probe turned into a {@link Decision}. */
final class Buckets {
    private Buckets() {
    }

    static BucketConfiguration configuration(Limit limit, Instant now) {
        return BucketConfiguration.builder().addLimit(b -> {
            var capacity = b.capacity(limit.capacity());
            if (limit.quota()) {
                Instant nextDay = LocalDate.ofInstant(now, ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC)
                        .toInstant();
                return capacity.refillIntervallyAligned(limit.capacity(), limit.period(), nextDay);
            }
            return capacity.refillGreedy(limit.capacity(), limit.period());
        }).build();
    }

    static Decision decision(Limit limit, ConsumptionProbe probe) {
        long reset = TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForReset() + 999_999_999L);
        long retry = probe.isConsumed() ? 0 : Math.max(1,
                TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999L));
        return new Decision(probe.isConsumed(), limit.capacity(), probe.getRemainingTokens(), reset, retry);
    }

    /**
     * Whether one more token could be taken, as a decision that took nothing. A bucket charged
     * past empty reports 0 remaining, and its reset counts the debt too.
     */
    static Decision estimate(Limit limit, EstimationProbe probe, Instant now) {
        long remaining = probe.getRemainingTokens();
        long reset;
        if (remaining >= limit.capacity()) {
            reset = 0;
        } else if (limit.quota()) {
            Instant nextDay = LocalDate.ofInstant(now, ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
            reset = Math.max(1, java.time.Duration.between(now, nextDay).toSeconds());
        } else {
            // Greedy refill: capacity tokens per period, continuously.
            double missing = (double) limit.capacity() - remaining;
            reset = (long) Math.ceil(missing * limit.period().toSeconds() / limit.capacity());
        }
        long retry = probe.canBeConsumed() ? 0 : Math.max(1,
                TimeUnit.NANOSECONDS.toSeconds(Math.min(probe.getNanosToWaitForRefill(), Long.MAX_VALUE - 999_999_999L)
                        + 999_999_999L));
        return new Decision(probe.canBeConsumed(), limit.capacity(), Math.max(0, remaining), reset, retry);
    }
}
