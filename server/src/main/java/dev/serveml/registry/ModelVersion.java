package dev.serveml.registry;

import dev.serveml.inference.Signature;

import java.time.Instant;
import java.util.Optional;

/** An immutable model artifact with its extracted signature and its mutable lifecycle state. */
public record ModelVersion(long id, long modelId, String modelName, int version, String format, String runtime,
                           String sha256, long sizeBytes, String artifactKey, String fileName, Signature signature,
                           VersionState state, Instant createdAt, Instant updatedAt, Optional<Instant> deletedAt) {
    public boolean deleted() {
        return deletedAt.isPresent();
    }
}
