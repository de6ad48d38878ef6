package dev.serveml.deployments;

import dev.serveml.inference.ModelHost;
import dev.serveml.inference.Serving;
import dev.serveml.problem.ProblemException;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.Resources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Brings a deployment's versions into memory after a create or a change, off the caller's thread:
 * building (each version's runtime readies what loading needs: a Python environment), then
 * loading each version through the host with the deployment's serving settings (with its warm-up
 * call; a loaded version whose resources changed is loaded again beside the old copy and swapped
 * in, one whose batching changed takes it at once), then active, or failed with the reason. Each
 * step is an event. A newer rollout of the same deployment supersedes an older one, which stops
 * without further events. Also keeps the host's pins in line with the deployments that ask for
 * loaded instances. Thread-safe.
 */
final class Rollout {
    private static final Logger log = LoggerFactory.getLogger(Rollout.class);

    private final ModelHost host;
    private final Preparer preparer;
    private final DeploymentEvents events;
    private final Executor executor;
    private final AtomicLong generations = new AtomicLong();
    private final Map<Long, Long> current = new HashMap<>();
    private final Map<Long, Set<Long>> pins = new HashMap<>();

    /** Readies what loading a version will need (the registry's {@code prepare}); says what it did. */
    @FunctionalInterface
    interface Preparer {
        Optional<String> prepare(ModelVersion version, Resources resources);
    }

    private final Consumer<Deployment> onFailed;

    /** @param onFailed called when a rollout fails: its versions must stop carrying its settings */
    Rollout(ModelHost host, Preparer preparer, DeploymentEvents events, Executor executor,
            Consumer<Deployment> onFailed) {
        this.onFailed = onFailed;
        this.host = host;
        this.preparer = preparer;
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
        Serving serving = d.config().serving();
        try {
            if (!step(d, generation, DeploymentStatus.BUILDING, "building", percent, "preparing " + versions.size()
                    + " version(s) of model '" + d.modelName() + "' (" + runtimes(versions) + ")")) {
                return;
            }
            for (ModelVersion v : versions) {
                Optional<String> done = preparer.prepare(v, serving.resources());
                if (done.isPresent() && !step(d, generation, DeploymentStatus.BUILDING, "built", percent,
                        v.label() + ": " + done.get())) {
                    return;
                }
            }
            for (int i = 0; i < versions.size(); i++) {
                ModelVersion v = versions.get(i);
                percent = 10 + 85 * i / versions.size();
                if (!load(d, generation, v, serving, percent, 10 + 85 * (i + 1) / versions.size())) {
                    return;
                }
            }
            step(d, generation, DeploymentStatus.ACTIVE, "active", 100, "serving " + describe(d.policy()));
        } catch (ProblemException e) {
            if (step(d, generation, DeploymentStatus.FAILED, "failed", percent, e.detail())) {
                onFailed.accept(d);
            }
        } catch (RuntimeException e) {
            log.error("rollout of deployment {} failed", d.name(), e);
            if (step(d, generation, DeploymentStatus.FAILED, "failed", percent,
                    "loading failed unexpectedly; the server log has the details")) {
                onFailed.accept(d);
            }
        }
    }

    /** Gives the version this deployment's settings and makes sure it is loaded with them; false if superseded. */
    private boolean load(Deployment d, long generation, ModelVersion v, Serving serving, int percent, int after) {
        if (superseded(d.id(), generation)) {
            return false;
        }
        ModelHost.Change change = host.configure(v.id(), Optional.of(serving));
        long started = System.nanoTime();
        String done;
        if (change == ModelHost.Change.RELOAD_NEEDED) {
            if (!step(d, generation, DeploymentStatus.LOADING, "loading", percent, "loading " + v.label()
                    + " again with " + serving.resources().describe() + "; the loaded copy serves meanwhile")) {
                return false;
            }
            host.reload(v);
            done = "reloaded " + v.label();
        } else {
            if (!step(d, generation, DeploymentStatus.LOADING, "loading", percent, "loading " + v.label()
                    + " (" + serving.resources().describe() + ") and running its warm-up call")) {
                return false;
            }
            host.withModel(v, m -> Boolean.TRUE);
            if (change != ModelHost.Change.NOT_LOADED) {
                host.warmUp(v); // it was in memory already: its load did not run this deployment's sample
            }
            done = change == ModelHost.Change.BATCHING ? v.label() + " was loaded already; its queue now batches up to "
                    + serving.maxBatchSize() + " row(s), waiting at most " + serving.maxQueueDelay().toMillis() + " ms"
                    : "loaded " + v.label();
        }
        return step(d, generation, DeploymentStatus.LOADING, "loaded", after, done + " (took "
                + (System.nanoTime() - started) / 1_000_000 + " ms)");
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
