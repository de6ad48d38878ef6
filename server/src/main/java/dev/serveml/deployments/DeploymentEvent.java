package dev.serveml.deployments;

import java.time.Instant;

/**
 * One step of a deployment's rollout, as kept in PostgreSQL and streamed to watchers.
 *
 * @param id      increasing per server; watchers use it to skip what they have seen
 * @param percent rollout progress, 0 to 100
 * @param status  the deployment's status after this step
 */
public record DeploymentEvent(long id, long deploymentId, Instant at, String step, int percent, String message,
                              DeploymentStatus status) {
}
