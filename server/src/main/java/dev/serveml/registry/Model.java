package dev.serveml.registry;

import java.time.Instant;
import java.util.Optional;

/**
 * A named model.
 *
 * @param latestVersion highest version number ever registered (0 when none)
 * @param versionCount  versions that are not deleted
 */
public record Model(long id, String name, String description, Instant createdAt, Instant updatedAt,
                    Optional<Instant> deletedAt, int latestVersion, int versionCount) {
    public boolean deleted() {
        return deletedAt.isPresent();
    }
}
