package dev.serveml.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The response cache's server-wide settings; each model may turn it off or shorten/lengthen the
 * time to live for itself.
 *
 * @param enabled    whether any answer is cached ({@code SERVEML_CACHE})
 * @param ttl        how long an answer is kept unless the model says otherwise ({@code SERVEML_CACHE_TTL})
 * @param maxEntries answers kept in process at most ({@code SERVEML_CACHE_MAX_ENTRIES})
 */
public record CacheConfig(boolean enabled, Duration ttl, long maxEntries) {
    public CacheConfig {
        Objects.requireNonNull(ttl);
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be at least 1");
        }
    }
}
