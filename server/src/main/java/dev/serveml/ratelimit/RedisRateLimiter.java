package dev.serveml.ratelimit;

import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.AsyncProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Buckets in Redis (Bucket4j's compare-and-swap proxies over Lettuce), so that every replica
 * draws from the same bucket. When Redis cannot be reached the limiter keeps serving with local
 * buckets, says so in the log and in {@link #status()}, and tries Redis again every few seconds.
 */
public final class RedisRateLimiter implements RateLimiter {
    private static final Logger log = LoggerFactory.getLogger(RedisRateLimiter.class);
    private static final Duration RETRY = Duration.ofSeconds(5);
    private static final Duration TIMEOUT = Duration.ofMillis(500);

    private final RedisClient client;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final AsyncProxyManager<String> proxies;
    private final LocalRateLimiter fallback;
    private final InstantSource clock;
    private final AtomicLong downUntil = new AtomicLong();
    private final AtomicReference<String> lastError = new AtomicReference<>();

    public RedisRateLimiter(String url, InstantSource clock) {
        this.clock = clock;
        this.fallback = new LocalRateLimiter(clock);
        RedisURI uri = RedisURI.create(url);
        uri.setTimeout(TIMEOUT);
        this.client = RedisClient.create(uri);
        // Fail fast while disconnected (the fallback answers) instead of queueing commands.
        client.setOptions(io.lettuce.core.ClientOptions.builder()
                .disconnectedBehavior(io.lettuce.core.ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
        this.connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        this.proxies = Bucket4jLettuce.casBasedBuilder(connection)
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
                .build().asAsync();
        log.info("rate limits are shared through Redis at {}", uri.getHost() + ":" + uri.getPort());
    }

    @Override
    public CompletableFuture<Decision> consume(String key, Limit limit) {
        return remote(key, limit, b -> b.tryConsumeAndReturnRemaining(1).thenApply(p -> Buckets.decision(limit, p)),
                () -> fallback.consume(key, limit));
    }

    @Override
    public CompletableFuture<Decision> peek(String key, Limit limit) {
        return remote(key, limit, b -> b.estimateAbilityToConsume(1)
                        .thenApply(p -> Buckets.estimate(limit, p, clock.instant())),
                () -> fallback.peek(key, limit));
    }

    @Override
    public CompletableFuture<Void> charge(String key, Limit limit, long amount) {
        if (amount <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        return remote(key, limit, b -> (limit.quota() ? b.tryConsumeAsMuchAsPossible(amount)
                        : b.consumeIgnoringRateLimits(amount)).thenApply(taken -> (Void) null),
                () -> fallback.charge(key, limit, amount));
    }

    /** One operation on the shared bucket, or on the local fallback while Redis is unreachable. */
    private <T> CompletableFuture<T> remote(String key, Limit limit,
                                            java.util.function.Function<AsyncBucketProxy, CompletableFuture<T>> operation,
                                            java.util.function.Supplier<CompletableFuture<T>> local) {
        if (clock.millis() < downUntil.get()) {
            return local.get();
        }
        AsyncBucketProxy bucket = proxies.builder().build("serveml:rl:" + key + ":" + limit.capacity() + "/"
                + limit.period().toSeconds(), () -> CompletableFuture.completedFuture(
                Buckets.configuration(limit, clock.instant())));
        return operation.apply(bucket)
                .orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .thenApply(result -> {
                    if (lastError.getAndSet(null) != null) {
                        log.info("Redis is reachable again: rate limits are shared again");
                    }
                    return result;
                })
                .exceptionallyCompose(e -> {
                    downUntil.set(clock.millis() + RETRY.toMillis());
                    String why = e.getCause() != null ? e.getCause().toString() : e.toString();
                    if (lastError.getAndSet(why) == null) {
                        log.warn("Redis is unreachable ({}); rate limits fall back to this process's own buckets "
                                + "until it is back", why);
                    }
                    return local.get();
                });
    }

    @Override
    public String status() {
        String error = lastError.get();
        return error == null ? "redis" : "local (Redis unreachable: " + error + ")";
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
