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

    /**
     * Whether the bucket {@code key} could give one token now, taking none: what is left and when it
     * is full again. A new bucket is created full.
     */
    CompletableFuture<Decision> peek(String key, Limit limit);

    /** {@link #peek} at once when the bucket is in this process; null when only {@link #peek} can. */
    default Decision peekNow(String key, Limit limit) {
        return null;
    }

    /**
     * Takes {@code amount} tokens whatever is left: a cost known only after the work was done
     * (the tokens a model's answer took). A per-minute bucket may go below empty; it then refuses
     * until it has refilled past the debt. A quota's bucket stops at empty: the overshoot of one
     * day is not carried into the next, which starts full.
     */
    CompletableFuture<Void> charge(String key, Limit limit, long amount);

    /** For readiness details: "local", "redis", or why Redis is not in use right now. */
    String status();

    @Override
    default void close() {
    }
}
