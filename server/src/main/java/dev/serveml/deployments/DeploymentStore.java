package dev.serveml.deployments;

import java.util.List;
import java.util.Optional;

/** Where deployments and their events are kept. Blocking; thread-safe. */
public interface DeploymentStore {
    /**
     * Inserts a pending deployment.
     *
     * @throws dev.serveml.problem.ProblemException {@code name-taken} when a live deployment has the name
     */
    Deployment insert(String name, Long ownerId, long modelId, TrafficPolicy policy, DeploymentConfig config);

    /** A live (not deleted) deployment. */
    Optional<Deployment> find(String name);

    /** Live deployments by name. */
    List<Deployment> list();

    /** Replaces the policy and config, keeping {@code previous} for rollback; the status goes back to pending. */
    Deployment update(long id, TrafficPolicy policy, Optional<TrafficPolicy> previous, DeploymentConfig config);

    /** Sets the status and appends the event that says so, in one transaction. */
    DeploymentEvent record(long id, DeploymentStatus status, String step, int percent, String message);

    /** A deployment's events, oldest first. */
    List<DeploymentEvent> events(long id);

    void markDeleted(long id);
}
