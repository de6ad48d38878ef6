package dev.serveml.inference;

import dev.serveml.config.BatchingConfig;
import dev.serveml.config.HostingConfig;
import dev.serveml.runtime.Resources;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How one version is served: what its loaded model may use, how its queue batches calls, and
 * how long it may sit unused before it is unloaded. Set by the deployment serving the version,
 * else the server's defaults.
 *
 * @param resources     what the loaded model may use; changing them loads the model again
 * @param maxBatchSize  most rows per model call; 1 turns batching off
 * @param maxQueueDelay longest the oldest queued request waits for others to join its batch
 * @param idleUnload    unload after this long unused; zero keeps the version loaded
 * @param warmUp        a predict body the model must answer before it counts as loaded, bound once per
 *                      signature; empty for a row made from its signature
 */
public record Serving(Resources resources, int maxBatchSize, Duration maxQueueDelay, Duration idleUnload,
                      Optional<WarmUp.Sample> warmUp) {
    public Serving {
        Objects.requireNonNull(resources);
        Objects.requireNonNull(warmUp);
        if (maxBatchSize < 1 || maxQueueDelay.isNegative() || idleUnload.isNegative()) {
            throw new IllegalArgumentException("invalid serving settings");
        }
    }

    /** The server's defaults, from its configuration. */
    public static Serving defaults(BatchingConfig batching, HostingConfig hosting) {
        return new Serving(Resources.DEFAULT, batching.maxBatchSize(), batching.maxQueueDelay(), hosting.idleUnload(),
                Optional.empty());
    }

    /** The queue's settings as the {@link Batcher} takes them. */
    public BatchingConfig batching(BatchingConfig base) {
        return new BatchingConfig(maxBatchSize, maxQueueDelay, base.queueCapacity(), base.requestTimeout(), base.bySize());
    }
}
