package dev.serveml.config;

import java.time.Duration;

/**
 * How requests wait for and share model calls.
 *
 * @param maxBatchSize   most rows one model call takes from concurrent requests; 1 turns batching off
 * @param maxQueueDelay  longest the oldest queued request waits for others to join its batch
 * @param queueCapacity  requests one version may hold queued; more are refused at once (503)
 * @param requestTimeout deadline of a request that names none, counted from its arrival (504 when it
 *                       passes while queued)
 * @param bySize         whether requests are stacked only with others of the same size group, where the
 *                       model names one ({@code LoadedModel.batchGroup}: text by length)
 */
public record BatchingConfig(int maxBatchSize, Duration maxQueueDelay, int queueCapacity, Duration requestTimeout,
                             boolean bySize) {
    /** Grouping by size on, as by default. */
    public BatchingConfig(int maxBatchSize, Duration maxQueueDelay, int queueCapacity, Duration requestTimeout) {
        this(maxBatchSize, maxQueueDelay, queueCapacity, requestTimeout, true);
    }

    public BatchingConfig {
        if (maxBatchSize < 1 || queueCapacity < 1 || maxQueueDelay.isNegative() || requestTimeout.isNegative()
                || requestTimeout.isZero()) {
            throw new IllegalArgumentException("invalid batching settings");
        }
    }

    public boolean enabled() {
        return maxBatchSize > 1;
    }
}
