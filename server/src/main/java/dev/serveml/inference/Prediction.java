package dev.serveml.inference;

import java.util.Objects;
import java.util.Optional;

/**
 * The answer to a {@link PredictRequest}.
 *
 * @param result        the model's answer
 * @param deployment    the deployment it came through; empty when a model was asked
 * @param afterDelivery what to run once the answer has reached the client, if anything: a
 *                      deployment's shadow copy starts then, so the client never waits for it.
 *                      It never throws.
 */
public record Prediction(InferenceResult result, Optional<String> deployment, Optional<Runnable> afterDelivery) {
    public Prediction {
        Objects.requireNonNull(result);
        Objects.requireNonNull(deployment);
        Objects.requireNonNull(afterDelivery);
    }

    /** A model's answer, asked directly. */
    public static Prediction ofModel(InferenceResult result) {
        return new Prediction(result, Optional.empty(), Optional.empty());
    }
}
