package dev.serveml.ratelimit;

import java.util.concurrent.CompletableFuture;

/** Takes tokens from named buckets without blocking the caller. Thread-safe. */
public interface RateLimiter extends AutoCloseable {

    /**
     * Takes one token from the bucket {@code key}, creating it with {@code limit} if new. A bucket
     * whose limit changed is recreated with the new one.
     */
    CompletableFuture<Decision> consume(String key, Limit limit);

    /** Takes one token at once when the bucket is in this process; null when only {@link #consume} can. */
    default Decision consumeNow(String key, Limit limit) {
        return null;
    }

    /** For readiness details: "local", "redis", or why Redis is not in use right now. */
    String status();

    @Override
    default void close() {
    }
}
