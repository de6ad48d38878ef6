package dev.serveml.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.InstantSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Buckets in this process (lock-free Bucket4j buckets), forgotten an hour after last use; a daily
 * quota's bucket not before the UTC midnight that refills it (forgotten earlier, a used-up quota
 * would start full again after an idle hour).
 */
public final class LocalRateLimiter implements RateLimiter {
    private record Entry(Limit limit, Bucket bucket) {
    }

    private static final Duration IDLE = Duration.ofHours(1);

    private final InstantSource clock;
    private final TimeMeter meter;
    // Every lookup is recorded for the eviction policy, and every 16th or so asks for the records
    // to be drained; run at once, that was a task and a thread wake-up per 16 requests (3% of the
    // server's time under load, with two other caches on the way). Delayed a few milliseconds,
    // the drains coalesce, and still run off the event loops: a caller may own many buckets.
    private final Cache<String, Entry> buckets;

    public LocalRateLimiter(InstantSource clock) {
        this.clock = clock;
        // On the injected clock, so that what is forgotten when is tested as the buckets are.
        this.buckets = Caffeine.newBuilder().expireAfter(new Expiry<String, Entry>() {
                    @Override
                    public long expireAfterCreate(String key, Entry entry, long now) {
                        return keep(entry);
                    }

                    @Override
                    public long expireAfterUpdate(String key, Entry entry, long now, long left) {
                        return keep(entry);
                    }

                    @Override
                    public long expireAfterRead(String key, Entry entry, long now, long left) {
                        return keep(entry);
                    }
                }).ticker(() -> clock.millis() * 1_000_000L).maximumSize(1_000_000)
                .executor(CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS)).build();
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

    /** Nanoseconds to keep a bucket after its last use: an hour, and a quota's until its next refill. */
    private long keep(Entry entry) {
        long hour = IDLE.toNanos();
        if (!entry.limit().quota()) {
            return hour;
        }
        Instant now = clock.instant();
        Instant nextDay = LocalDate.ofInstant(now, ZoneOffset.UTC).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        return Math.max(hour, Duration.between(now, nextDay).toNanos());
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
