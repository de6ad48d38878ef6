package dev.serveml.usage;

import java.time.LocalDate;
import java.util.Objects;

/**
 * What one credential spent on one model in one UTC day.
 *
 * @param keyId the API key, or 0 for a session token
 * @param model the model that answered (a deployment's model, not the deployment)
 */
public record UsageRow(LocalDate day, long userId, long keyId, String model, long requests, long promptTokens,
                       long completionTokens) {
    public UsageRow {
        Objects.requireNonNull(day);
        Objects.requireNonNull(model);
        if (requests < 0 || promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("usage counts are not negative");
        }
    }
}
