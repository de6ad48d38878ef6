package dev.serveml.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;

import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Buckets in this process (lock-free Bucket4j buckets), forgotten an hour after last use. */
public final class LocalRateLimiter implements RateLimiter {
    private record Entry(Limit limit, Bucket bucket) {
    }

    private final InstantSource clock;
    private final TimeMeter meter;
    // Every lookup is recorded for the eviction policy, and every 16th or so asks for the records
    // to be drained; run at once, that was a task and a thread wake-up per 16 requests (3% of the
    // server's time under load, with two other caches on the way). Delayed a few milliseconds,
    // the drains coalesce, and still run off the event loops: a caller may own many buckets.
    private final Cache<String, Entry> buckets = Caffeine.newBuilder().expireAfterAccess(Duration.ofHours(1))
            .maximumSize(1_000_000).executor(CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS)).build();

    public LocalRateLimiter(InstantSource clock) {
        this.clock = clock;
        this.meter = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return clock.millis() * 1_000_000L;
            }

            @Override
            public boolean isWallClockBased() {
                return true;
            }
        };
    }

    @Override
    public CompletableFuture<Decision> consume(String key, Limit limit) {
        return CompletableFuture.completedFuture(consumeNow(key, limit));
    }

    @Override
    public Decision consumeNow(String key, Limit limit) {
        return Buckets.decision(limit, bucket(key, limit).tryConsumeAndReturnRemaining(1));
    }

    @Override
    public CompletableFuture<Decision> peek(String key, Limit limit) {
        return CompletableFuture.completedFuture(peekNow(key, limit));
    }

    @Override
    public Decision peekNow(String key, Limit limit) {
        return Buckets.estimate(limit, bucket(key, limit).estimateAbilityToConsume(1), clock.instant());
    }

    @Override
    public CompletableFuture<Void> charge(String key, Limit limit, long amount) {
        if (amount > 0 && limit.quota()) {
            bucket(key, limit).tryConsumeAsMuchAsPossible(amount);
        } else if (amount > 0) {
            bucket(key, limit).consumeIgnoringRateLimits(amount);
        }
        return CompletableFuture.completedFuture(null);
    }

    private Bucket bucket(String key, Limit limit) {
        Entry current = buckets.getIfPresent(key);
        Entry entry = current != null && current.limit().equals(limit) ? current
                : buckets.asMap().compute(key, (k, e) -> e != null && e.limit().equals(limit) ? e
                : new Entry(limit, Bucket.builder().withCustomTimePrecision(meter)
                .addLimit(Buckets.configuration(limit, clock.instant()).getBandwidths()[0]).build()));
        return entry.bucket();
    }

    @Override
    public String status() {
        return "local";
    }
}
