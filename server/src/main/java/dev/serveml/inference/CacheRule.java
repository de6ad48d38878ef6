package dev.serveml.inference;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether a call's answers are cached and for how long, as its deployment says; what is empty
 * falls back to the model's cache settings, then the server's.
 *
 * @param enabled cache the answers or not; empty for the model's setting
 * @param ttl     how long an answer lives; empty for the model's setting
 */
public record CacheRule(Optional<Boolean> enabled, Optional<Duration> ttl) {
    /** Defer to the model's settings. */
    public static final CacheRule MODEL = new CacheRule(Optional.empty(), Optional.empty());

    public CacheRule {
        Objects.requireNonNull(enabled);
        Objects.requireNonNull(ttl);
        if (ttl.isPresent() && (ttl.get().isNegative() || ttl.get().isZero())) {
            throw new IllegalArgumentException("a cache ttl is more than zero");
        }
    }
}
