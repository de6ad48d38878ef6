package dev.serveml.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * What the registry read about each model name, kept for the serving lookups. The names come
 * from callers (anyone may ask {@code /v2/models/<name>/ready}), so the map is bounded: at most
 * {@code maxEntries} names, and a name that matched no model is forgotten after a short time
 * (long enough to absorb a burst of calls to a wrong name, short enough that random names
 * cannot pile up). Thread-safe; {@link #find} never blocks, so the event loop may call it.
 *
 * @param <V> what is kept per existing model
 */
final class Snapshots<V> {
    private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE);

    private final Cache<String, Optional<V>> cache;

    /**
     * @param maxEntries  most names kept, found or not (the least useful go first)
     * @param negativeTtl how long a name that matched no model is remembered
     * @param maintenance where eviction work runs ({@code Runnable::run} in tests)
     */
    Snapshots(long maxEntries, Duration negativeTtl, Ticker ticker, Executor maintenance) {
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxEntries)
                .expireAfter(Expiry.<String, Optional<V>>creating((name, read) -> read.isPresent() ? FOREVER : negativeTtl))
                .ticker(ticker)
                .executor(maintenance)
                .build();
    }

    /** The kept snapshot of this name; empty when none is kept or the name matched no model. */
    Optional<V> find(String name) {
        Optional<V> kept = cache.getIfPresent(name);
        return kept == null ? Optional.empty() : kept;
    }

    /** The kept answer for this name, reading (blocking) and keeping it first if there is none. */
    Optional<V> get(String name, Function<String, Optional<V>> read) {
        return cache.get(name, read);
    }

    /** Drops what is kept for this name; the next {@link #get} reads it again. */
    void forget(String name) {
        cache.invalidate(name);
    }

    /** Names kept now, after pending evictions (for tests and diagnostics). */
    long size() {
        cache.cleanUp();
        return cache.estimatedSize();
    }
}
