package dev.serveml.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Batch jobs.
 *
 * @param workers      threads that split inputs and score chunks
 * @param sharePercent percent of a model's instances jobs may keep busy at once (at least one)
 * @param lease        how long a claim outlives a worker that stopped renewing it
 * @param retention    how long finished jobs' files (and uploaded input files) are kept
 */
public record JobsConfig(int workers, int sharePercent, Duration lease, Duration retention) {
    public JobsConfig {
        Objects.requireNonNull(lease);
        Objects.requireNonNull(retention);
    }

    /** Model calls jobs may have in flight at once on one model, of {@code instances}: at least one. */
    public int callsPerModel(int instances) {
        return Math.max(1, instances * sharePercent / 100);
    }
}
