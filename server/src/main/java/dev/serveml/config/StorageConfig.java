package dev.serveml.config;

import java.nio.file.Path;

/**
 * Where ServeML keeps its state in embedded mode, and how much of it one tenant may use.
 *
 * @param dataDir                 root of everything ServeML writes: artifacts, embedded PostgreSQL, temp uploads
 * @param maxUploadBytes          largest model upload accepted, in bytes
 * @param quotaBytesPerUser       most bytes of artifacts one non-admin user's models may hold (every version,
 *                                deleted ones too, each distinct file once); administrators are exempt
 * @param maxUploadsPerUser       uploads one user may have in flight (being received or validated) at once
 * @param uploadThreads           threads that validate uploads by loading them, apart from the HTTP worker pool
 * @param uploadQueue             uploads that may wait for one of those threads before new ones are refused (503)
 * @param sharedArtifacts         where artifacts are kept instead of the data directory: a volume that the
 *                                replicas on one database share
 */
public record StorageConfig(Path dataDir, long maxUploadBytes, long quotaBytesPerUser, int maxUploadsPerUser,
                            int uploadThreads, int uploadQueue, java.util.Optional<Path> sharedArtifacts) {
    /** The same, keeping artifacts in the data directory. */
    public StorageConfig(Path dataDir, long maxUploadBytes, long quotaBytesPerUser, int maxUploadsPerUser,
                         int uploadThreads, int uploadQueue) {
        this(dataDir, maxUploadBytes, quotaBytesPerUser, maxUploadsPerUser, uploadThreads, uploadQueue,
                java.util.Optional.empty());
    }

    public Path artifactsDir() {
        return sharedArtifacts.orElseGet(() -> dataDir.resolve("artifacts"));
    }

    public Path uploadsDir() {
        return dataDir.resolve("tmp").resolve("uploads");
    }

    public Path postgresDir() {
        return dataDir.resolve("postgres");
    }
}
