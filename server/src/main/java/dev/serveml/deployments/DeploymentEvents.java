package dev.serveml.deployments;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Records status changes as events in the store and hands each, once committed, to the watchers
 * of its deployment. Thread-safe; {@link #record} is blocking (database).
 */
final class DeploymentEvents {
    private static final Logger log = LoggerFactory.getLogger(DeploymentEvents.class);

    private final DeploymentStore store;
    private final Map<Long, List<Consumer<DeploymentEvent>>> watchers = new ConcurrentHashMap<>();
    private final Consumer<DeploymentEvent> recorded;

    /** @param recorded told of every event first, before the watchers (keeps the in-memory status current) */
    DeploymentEvents(DeploymentStore store, Consumer<DeploymentEvent> recorded) {
        this.store = store;
        this.recorded = recorded;
    }

    DeploymentEvent record(long deploymentId, DeploymentStatus status, String step, int percent, String message) {
        DeploymentEvent event = store.record(deploymentId, status, step, percent, message);
        recorded.accept(event);
        for (Consumer<DeploymentEvent> watcher : watchers.getOrDefault(deploymentId, List.of())) {
            try {
                watcher.accept(event);
            } catch (RuntimeException e) {
                log.warn("a deployment event watcher failed: {}", e.toString());
            }
        }
        return event;
    }

    /**
     * Calls {@code watcher} with every event recorded from now on, on the recording thread, until
     * the returned handle is run. Register before reading past events so that none falls between.
     */
    Runnable watch(long deploymentId, Consumer<DeploymentEvent> watcher) {
        watchers.computeIfAbsent(deploymentId, id -> new CopyOnWriteArrayList<>()).add(watcher);
        return () -> watchers.computeIfPresent(deploymentId, (id, list) -> {
            list.remove(watcher);
            return list.isEmpty() ? null : list;
        });
    }

    List<DeploymentEvent> past(long deploymentId) {
        return store.events(deploymentId);
    }
}
