package dev.serveml.config;

import java.util.Optional;

/**
 * The Redis shared by the rate limiter (its buckets) and the response cache (its L2).
 *
 * @param url {@code redis://} or {@code rediss://} URL; empty keeps both in process
 */
public record RedisConfig(Optional<String> url) {
    public RedisConfig {
        java.util.Objects.requireNonNull(url);
    }

    @Override
    public String toString() {
        return "RedisConfig[url=" + url.map(Setting.SERVEML_REDIS_URL::masked).orElse("(none)") + "]";
    }
}
