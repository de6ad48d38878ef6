package dev.serveml.deployments;

import dev.serveml.inference.ModelHost;
import dev.serveml.problem.ProblemException;
import dev.serveml.registry.ModelVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Brings a deployment's versions into memory after a create or a change, off the caller's thread:
 * building, then loading each version through the host (with its warm-up call), then active, or
 * failed with the reason. Each step is an event. A newer rollout of the same deployment
 * supersedes an older one, which stops without further events. Also keeps the host's pins in
 * line with the deployments that ask for loaded instances. Thread-safe.
 */
final class Rollout {
    private static final Logger log = LoggerFactory.getLogger(Rollout.class);

    private final ModelHost host;
    private final DeploymentEvents events;
    private final Executor executor;
    private final AtomicLong generations = new AtomicLong();
    private final Map<Long, Long> current = new HashMap<>();
    private final Map<Long, Set<Long>> pins = new HashMap<>();

    Rollout(ModelHost host, DeploymentEvents events, Executor executor) {
        this.host = host;
        this.events = events;
        this.executor = executor;
    }

    /** Starts loading {@code versions} (primaries, then shadow) for {@code deployment}; returns at once. */
    void start(Deployment deployment, List<ModelVersion> versions) {
        long generation = generations.incrementAndGet();
        synchronized (this) {
            current.put(deployment.id(), generation);
        }
        pin(deployment.id(), deployment.config().minInstances() >= 1
                ? versions.stream().map(ModelVersion::id).toList() : List.of());
        executor.execute(() -> run(deployment, versions, generation));
    }

    /** Stops any rollout of a deleted deployment and drops its pins. */
    void stop(long deploymentId) {
        synchronized (this) {
            current.remove(deploymentId);
        }
        pin(deploymentId, List.of());
    }

    private synchronized boolean superseded(long deploymentId, long generation) {
        return !Long.valueOf(generation).equals(current.get(deploymentId));
    }

    private void run(Deployment d, List<ModelVersion> versions, long generation) {
        int percent = 5;
        try {
            if (!step(d, generation, DeploymentStatus.BUILDING, "building", percent, "preparing " + versions.size()
                    + " version(s) of model '" + d.modelName() + "' (" + runtimes(versions) + ")")) {
                return;
            }
            for (int i = 0; i < versions.size(); i++) {
                ModelVersion v = versions.get(i);
                percent = 10 + 85 * i / versions.size();
                if (!step(d, generation, DeploymentStatus.LOADING, "loading", percent, "loading " + v.label()
                        + " and running its warm-up call")) {
                    return;
                }
                long started = System.nanoTime();
                host.withModel(v, m -> Boolean.TRUE);
                percent = 10 + 85 * (i + 1) / versions.size();
                if (!step(d, generation, DeploymentStatus.LOADING, "loaded", percent, "loaded " + v.label() + " in "
                        + (System.nanoTime() - started) / 1_000_000 + " ms")) {
                    return;
                }
            }
            step(d, generation, DeploymentStatus.ACTIVE, "active", 100, "serving " + describe(d.policy()));
        } catch (ProblemException e) {
            step(d, generation, DeploymentStatus.FAILED, "failed", percent, e.detail());
        } catch (RuntimeException e) {
            log.error("rollout of deployment {} failed", d.name(), e);
            step(d, generation, DeploymentStatus.FAILED, "failed", percent,
                    "loading failed unexpectedly; the server log has the details");
        }
    }

    private boolean step(Deployment d, long generation, DeploymentStatus status, String step, int percent,
                         String message) {
        if (superseded(d.id(), generation)) {
            return false;
        }
        events.record(d.id(), status, step, percent, message);
        return true;
    }

    /** Makes {@code versionIds} the deployment's pins; a version stays pinned while any deployment pins it. */
    private void pin(long deploymentId, List<Long> versionIds) {
        Set<Long> unpin = new HashSet<>();
        synchronized (this) {
            Set<Long> old = versionIds.isEmpty() ? pins.remove(deploymentId)
                    : pins.put(deploymentId, new HashSet<>(versionIds));
            if (old != null) {
                unpin.addAll(old);
            }
            pins.values().forEach(unpin::removeAll);
            versionIds.forEach(host::pin);
            unpin.forEach(host::unpin);
        }
    }

    static String describe(TrafficPolicy p) {
        StringBuilder b = new StringBuilder();
        for (TrafficPolicy.Split s : p.versions()) {
            b.append(b.isEmpty() ? "" : ", ").append("v").append(s.version()).append(' ').append(s.weight()).append('%');
        }
        p.shadow().ifPresent(v -> b.append(", shadow v").append(v));
        p.stickyHeader().ifPresent(h -> b.append(", sticky on ").append(h));
        return b.toString();
    }

    private static String runtimes(List<ModelVersion> versions) {
        return String.join(", ", versions.stream().map(v -> "v" + v.version() + " " + v.runtime()).toList());
    }
}
