package dev.serveml.ratelimit;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;

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
}
