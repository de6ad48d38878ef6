package dev.serveml.ratelimit;

import org.junit.jupiter.api.Test;

import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What every {@link RateLimiter} does, written once: {@link LocalRateLimiterTest} runs it against
 * the in-process buckets, {@link RedisRateLimiterIT} against a real redis-server. Each case uses
 * keys of its own, so the cases share one limiter (and one Redis) in any order.
 */
interface RateLimiterContract {
    /** The limiter under test, on the system clock (no case waits for a refill). */
    RateLimiter limiter();

    @Test
    default void admitsTheCapacityCountingDownThenRefusesWithARetryAfterWithinThePeriod() throws Exception {
        String key = fresh("countdown");
        Limit limit = Limit.perMinute(3);
        for (long remaining = 2; remaining >= 0; remaining--) {
            Decision d = take(key, limit);
            assertThat(d.allowed()).isTrue();
            assertThat(d.limit()).isEqualTo(3);
            assertThat(d.remaining()).isEqualTo(remaining);
            assertThat(d.retryAfterSeconds()).isZero();
        }
        Decision refused = take(key, limit);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.remaining()).isZero();
        assertThat(refused.retryAfterSeconds()).isBetween(1L, 60L);
        assertThat(refused.resetSeconds()).isBetween(1L, 60L);
    }

    @Test
    default void aBucketUsedUpLeavesEveryOtherKeysBucketFull() throws Exception {
        String spent = fresh("spent");
        Limit limit = Limit.perMinute(1);
        assertThat(take(spent, limit).allowed()).isTrue();
        assertThat(take(spent, limit).allowed()).isFalse();

        Decision other = take(fresh("other"), limit);
        assertThat(other.allowed()).isTrue();
        assertThat(other.remaining()).isZero();
    }

    @Test
    default void aBucketWhoseLimitChangedIsDrawnWithTheNewLimit() throws Exception {
        String key = fresh("changed");
        assertThat(take(key, Limit.perMinute(1)).allowed()).isTrue();
        assertThat(take(key, Limit.perMinute(1)).allowed()).isFalse();

        Decision raised = take(key, Limit.perMinute(5));
        assertThat(raised.allowed()).isTrue();
        assertThat(raised.limit()).isEqualTo(5);
    }

    @Test
    default void aDailyQuotaUsedUpWaitsForTheNextUtcMidnight() throws Exception {
        String key = fresh("quota");
        Limit quota = Limit.perDay(2);
        assertThat(take(key, quota).allowed()).isTrue();
        assertThat(take(key, quota).remaining()).isZero();

        Decision refused = take(key, quota);
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterSeconds()).isBetween(1L, 86_400L);
    }

    @Test
    default void aPeekTakesNothingAndAChargeTakesTheWholeCostEvenPastEmpty() throws Exception {
        String key = fresh("charge");
        Limit limit = Limit.perMinute(3);
        Decision fresh = limiter().peek(key, limit).get(5, TimeUnit.SECONDS);
        assertThat(fresh.allowed()).isTrue();
        assertThat(fresh.remaining()).isEqualTo(3);
        assertThat(limiter().peek(key, limit).get(5, TimeUnit.SECONDS).remaining()).as("a peek took none").isEqualTo(3);
        limiter().charge(key, limit, 2).get(5, TimeUnit.SECONDS);
        assertThat(limiter().peek(key, limit).get(5, TimeUnit.SECONDS).remaining()).isEqualTo(1);
        limiter().charge(key, limit, 4).get(5, TimeUnit.SECONDS);
        Decision inDebt = limiter().peek(key, limit).get(5, TimeUnit.SECONDS);
        assertThat(inDebt.allowed()).isFalse();
        assertThat(inDebt.remaining()).isZero();
        // 3 in debt at 3 a minute: a token is back after 80 s.
        assertThat(inDebt.retryAfterSeconds()).isBetween(61L, 80L);
        assertThat(take(key, limit).allowed()).isFalse();
    }

    @Test
    default void aQuotaChargedPastItsSizeIsUsedUpUntilMidnightUtc() throws Exception {
        String key = fresh("charged-quota");
        Limit quota = Limit.perDay(3);
        limiter().charge(key, quota, 10).get(5, TimeUnit.SECONDS);
        Decision spent = limiter().peek(key, quota).get(5, TimeUnit.SECONDS);
        assertThat(spent.allowed()).isFalse();
        assertThat(spent.retryAfterSeconds()).as("the next midnight, not days of debt").isBetween(1L, 86_400L);
        assertThat(take(key, quota).allowed()).isFalse();
    }

    @Test
    default void saysWhichBucketsItUses() throws Exception {
        take(fresh("status"), Limit.perMinute(1));
        assertThat(limiter().status()).isIn("local", "redis");
    }

    private Decision take(String key, Limit limit) throws Exception {
        return limiter().consume(key, limit).get(5, TimeUnit.SECONDS);
    }

    private static String fresh(String name) {
        return "contract:" + name + ":" + UUID.randomUUID();
    }
}
