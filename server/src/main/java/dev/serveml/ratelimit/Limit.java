package dev.serveml.ratelimit;

import java.time.Duration;

/**
 * A bucket's shape: {@code capacity} requests per {@code period}. A greedy limit refills
 * continuously; a quota refills all at once at the start of each period (UTC days for daily quotas).
 */
public record Limit(long capacity, Duration period, boolean quota) {
    public Limit {
        if (capacity <= 0 || period.isZero() || period.isNegative()) {
            throw new IllegalArgumentException("a limit needs a positive capacity and period");
        }
    }

    private static final Duration MINUTE = Duration.ofMinutes(1);
    private static final Duration DAY = Duration.ofDays(1);

    public static Limit perMinute(long capacity) {
        return new Limit(capacity, MINUTE, false);
    }

    public static Limit perDay(long capacity) {
        return new Limit(capacity, DAY, true);
    }
}
