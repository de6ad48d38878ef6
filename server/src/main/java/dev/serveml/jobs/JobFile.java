package dev.serveml.jobs;

import java.time.Instant;

/**
 * A file uploaded to be a job's input.
 *
 * @param artifactKey where its bytes are in the artifact store
 * @param expiresAt   when retention removes it (null: never)
 */
public record JobFile(String id, long ownerId, String filename, String purpose, long bytes, String sha256,
                      String artifactKey, Instant createdAt, Instant expiresAt) {
}
