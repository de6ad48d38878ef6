package dev.serveml.cache;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The second tier, shared by every replica (Redis). Thread-safe; never throws and never fails a
 * returned future: an unreachable tier reads as empty and drops writes.
 */
public interface SharedCache extends AutoCloseable {
    CompletableFuture<Optional<byte[]>> get(String key);

    /** Stores without waiting for the tier's acknowledgement. */
    void put(String key, byte[] value, Duration ttl);

    @Override
    void close();
}
