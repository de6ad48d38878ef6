package dev.serveml.inference;

import java.time.Duration;
import java.util.Objects;

/**
 * Where one request's answer lives in the response cache.
 *
 * @param versionId the version that answers (a new active version or a rollback changes it, so
 *                  old answers are never served for the new version)
 * @param variant   what, besides the version, can change its answers: the fingerprint of the
 *                  environment it was loaded with ({@link dev.serveml.runtime.Resources#answerVariant()}),
 *                  empty for none
 * @param partition whose answers these are: empty for the model's owner, else one caller's own
 *                  (so a cached answer, its flag and its timing never tell one caller what another asked)
 * @param digest    hex SHA-256 of the canonical inputs and the requested outputs
 * @param ttl       how long a stored answer lives
 */
public record CacheSlot(long versionId, String variant, String partition, String digest, Duration ttl) {
    public CacheSlot {
        Objects.requireNonNull(variant);
        Objects.requireNonNull(partition);
        Objects.requireNonNull(digest);
        Objects.requireNonNull(ttl);
    }

    /** The key under which every tier stores it. */
    public String key() {
        return "serveml:cache:" + versionId + (variant.isEmpty() ? "" : "~" + variant)
                + (partition.isEmpty() ? "" : "@" + partition) + ":" + digest;
    }
}
