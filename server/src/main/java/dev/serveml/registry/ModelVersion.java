package dev.serveml.registry;

import dev.serveml.tensor.Signature;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable model artifact with its extracted signature and its mutable lifecycle state.
 *
 * @param status        whether the version can load ({@link VersionStatus#READY}) or failed to
 * @param statusMessage why it failed, in the failing tool's own words (empty when ready)
 * @param requirements  a requirements.txt sent beside the model, if any
 * @param metadata      what the runtime reported when it loaded the model (framework, classes, warnings)
 */
public record ModelVersion(long id, long modelId, String modelName, int version, String format, String runtime,
                           String sha256, long sizeBytes, String artifactKey, String fileName, Signature signature,
                           VersionState state, VersionStatus status, String statusMessage,
                           Optional<String> requirements, Map<String, Object> metadata,
                           Instant createdAt, Instant updatedAt, Optional<Instant> deletedAt) {
    public ModelVersion {
        metadata = Map.copyOf(metadata);
    }

    public boolean deleted() {
        return deletedAt.isPresent();
    }

    /** "iris v3", for logs. */
    public String label() {
        return modelName + " v" + version;
    }
}
