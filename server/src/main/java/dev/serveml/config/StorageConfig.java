package dev.serveml.config;

import java.nio.file.Path;

/**
 * Where ServeML keeps its state in embedded mode.
 *
 * @param dataDir        root of everything ServeML writes: artifacts, embedded PostgreSQL, temp uploads
 * @param maxUploadBytes largest model upload accepted, in bytes
 */
public record StorageConfig(Path dataDir, long maxUploadBytes) {
    public Path artifactsDir() {
        return dataDir.resolve("artifacts");
    }

    public Path uploadsDir() {
        return dataDir.resolve("tmp").resolve("uploads");
    }

    public Path postgresDir() {
        return dataDir.resolve("postgres");
    }
}
