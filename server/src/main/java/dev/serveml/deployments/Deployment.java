package dev.serveml.deployments;

import java.time.Instant;
import java.util.Optional;

/**
 * A named endpoint over one model.
 *
 * @param ownerId        the owning user (null: admin's, from before accounts)
 * @param previousPolicy what rollback goes back to; empty before the first change
 * @param statusMessage  why it failed (empty otherwise)
 */
public record Deployment(long id, String name, Long ownerId, long modelId, String modelName, TrafficPolicy policy,
                         Optional<TrafficPolicy> previousPolicy, DeploymentConfig config, DeploymentStatus status,
                         String statusMessage, Instant createdAt, Instant updatedAt) {
    /** This deployment after a status change (updated now, as far as readers of memory can tell). */
    public Deployment withStatus(DeploymentStatus newStatus, String message, java.time.Instant at) {
        return new Deployment(id, name, ownerId, modelId, modelName, policy, previousPolicy, config, newStatus,
                newStatus == DeploymentStatus.FAILED ? message : "", createdAt, at);
    }
}
