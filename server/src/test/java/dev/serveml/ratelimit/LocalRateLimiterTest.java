package dev.serveml.ratelimit;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The rate-limiter contract on in-process buckets, and what only they do: answer at once, on an injected clock. */
class LocalRateLimiterTest implements RateLimiterContract {
    private final LocalRateLimiter limiter = new LocalRateLimiter(InstantSource.system());
    /** The fake clock of {@link #startingAt}, moved by the test. */
    private final AtomicLong millis = new AtomicLong();

    @Override
    public RateLimiter limiter() {
        return limiter;
    }

    @Test
    void answersAtOnceWithTheSameBucketAsTheFuture() {
        Limit limit = Limit.perMinute(2);
        assertThat(limiter.consumeNow("now", limit).remaining()).isEqualTo(1);
        assertThat(limiter.consume("now", limit).join().remaining()).isZero();
        assertThat(limiter.consumeNow("now", limit).allowed()).isFalse();
    }

    @Test
    void aUsedUpBucketRefillsAsTheInjectedClockPassesThePeriod() {
        LocalRateLimiter onFakeClock = startingAt("2026-12-01T10:00:00Z");
        Limit limit = Limit.perMinute(2);
        onFakeClock.consumeNow("k", limit);
        onFakeClock.consumeNow("k", limit);
        Decision refused = onFakeClock.consumeNow("k", limit);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterSeconds()).isEqualTo(30);

        millis.addAndGet(30_000);
        assertThat(onFakeClock.consumeNow("k", limit).allowed()).isTrue();
        assertThat(onFakeClock.consumeNow("k", limit).allowed()).isFalse();
    }

    @Test
    void aDailyQuotaRefillsWholeAtUtcMidnightAndNotBefore() {
        LocalRateLimiter onFakeClock = startingAt("2026-12-01T23:00:00Z");
        Limit quota = Limit.perDay(2);
        onFakeClock.consumeNow("q", quota);
        onFakeClock.consumeNow("q", quota);
        Decision refused = onFakeClock.consumeNow("q", quota);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterSeconds()).isEqualTo(3_600);

        millis.addAndGet(3_599_000);
        assertThat(onFakeClock.consumeNow("q", quota).allowed()).isFalse();
        millis.addAndGet(1_000);
        assertThat(onFakeClock.consumeNow("q", quota).remaining()).isEqualTo(1);
    }

    @Test
    void aUsedUpDailyQuotaIsNotForgottenAfterAnIdleHourButAPerMinuteBucketIs() {
        LocalRateLimiter onFakeClock = startingAt("2026-12-01T01:00:00Z");
        Limit quota = Limit.perDay(1);
        Limit perMinute = Limit.perMinute(1);
        assertThat(onFakeClock.consumeNow("q", quota).allowed()).isTrue();
        onFakeClock.charge("m", perMinute, 500).join();
        millis.addAndGet(2 * 3_600_000);
        assertThat(onFakeClock.peekNow("q", quota).allowed()).as("still 01:00's day").isFalse();
        assertThat(onFakeClock.consumeNow("q", quota).allowed()).isFalse();
        // An hour idle: the per-minute bucket (in debt for 500 minutes) is dropped, as any is after an hour.
        assertThat(onFakeClock.peekNow("m", perMinute).allowed()).isTrue();
        millis.addAndGet(21 * 3_600_000);
        assertThat(onFakeClock.consumeNow("q", quota).allowed()).as("the next UTC day").isTrue();
    }

    private LocalRateLimiter startingAt(String instant) {
        millis.set(Instant.parse(instant).toEpochMilli());
        return new LocalRateLimiter(() -> Instant.ofEpochMilli(millis.get()));
    }
}
