package dev.serveml.http;

import dev.serveml.tensor.Signature;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelVersion;

import java.time.Instant;

/** The JSON shapes of the native API's resources (written in snake_case). */
final class Views {
    private Views() {
    }

    record ModelView(String name, String description, Long ownerId,
                     @com.fasterxml.jackson.annotation.JsonProperty("public") boolean isPublic, Integer rateLimitPerMinute,
                     int latestVersion, int versionCount, Instant createdAt, Instant updatedAt, Instant deletedAt,
                     String url, CacheView cache) {
        static ModelView of(Model m) {
            return new ModelView(m.name(), m.description(), m.ownerId(), m.isPublic(), m.rateLimitPerMinute(),
                    m.latestVersion(), m.versionCount(), m.createdAt(), m.updatedAt(), m.deletedAt().orElse(null),
                    "/api/v1/models/" + m.name(), new CacheView(m.cacheEnabled(), m.cacheTtlSeconds()));
        }
    }

    /** A model's own response-cache settings; null fields follow the server's defaults. */
    record CacheView(Boolean enabled, Integer ttlSeconds) {
    }

    record VersionView(String model, int version, String state, String status, String statusMessage, String format,
                       String runtime, String sha256, long sizeBytes, String fileName, Signature signature,
                       java.util.Map<String, Object> metadata, String requirements, boolean loaded,
                       String unavailable, Instant createdAt, Instant updatedAt, Instant deletedAt, String predictUrl) {
        /** @param unavailable why the loaded copy refuses calls right now (crash loop cooling down), or null */
        static VersionView of(ModelVersion v, boolean loaded, String unavailable) {
            return new VersionView(v.modelName(), v.version(), v.state().value(), v.status().value(),
                    v.statusMessage(), v.format(), v.runtime(), v.sha256(), v.sizeBytes(), v.fileName(), v.signature(),
                    v.metadata(), v.requirements().orElse(null), loaded, unavailable, v.createdAt(), v.updatedAt(),
                    v.deletedAt().orElse(null),
                    "/api/v1/models/" + v.modelName() + "/versions/" + v.version() + "/predict");
        }
    }

    record ListView<T>(java.util.List<T> items, int count) {
        static <T> ListView<T> of(java.util.List<T> items) {
            return new ListView<>(items, items.size());
        }
    }
}
