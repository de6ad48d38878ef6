package dev.serveml.registry;

import dev.serveml.tensor.Signature;

import java.util.Map;
import java.util.Optional;

/** What registering a version stores; the number is assigned by the store. */
public record NewVersion(String format, String runtime, String sha256, long sizeBytes, String artifactKey,
                         String fileName, Signature signature, VersionStatus status, String statusMessage,
                         Optional<String> requirements, Map<String, Object> metadata) {
}
