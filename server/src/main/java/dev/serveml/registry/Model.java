package dev.serveml.registry;

import java.time.Instant;
import java.util.Optional;

/**
 * A named model.
 *
 * @param ownerId            the owning user; null for models from before accounts existed (admin's)
 * @param isPublic           anyone may call its predict routes (still rate-limited, by address)
 * @param rateLimitPerMinute a per-caller limit on this model's predict routes, or null for the default
 * @param cacheEnabled       whether its answers are cached, or null for the server's default
 * @param cacheTtlSeconds    how long its cached answers live, or null for the server's default
 * @param latestVersion      highest version number ever registered (0 when none)
 * @param versionCount       versions that are not deleted
 */
public record Model(long id, String name, String description, Long ownerId, boolean isPublic,
                    Integer rateLimitPerMinute, Boolean cacheEnabled, Integer cacheTtlSeconds, Instant createdAt, Instant updatedAt,
                    Optional<Instant> deletedAt, int latestVersion, int versionCount) {
    public boolean deleted() {
        return deletedAt.isPresent();
    }
}
