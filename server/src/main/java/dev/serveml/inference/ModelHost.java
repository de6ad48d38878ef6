package dev.serveml.inference;

import dev.serveml.metrics.Meters;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.LoadedModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The versions held in memory, keyed by version id. A version loads once on first use; callers
 * arriving during a load wait for that same load. A model is closed only after the calls using
 * it have finished. Thread-safe.
 */
public final class ModelHost implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

    private final ModelLoader loader;
    private final Meters meters;
    private final ConcurrentHashMap<Long, CompletableFuture<HeldModel>> loaded = new ConcurrentHashMap<>();

    public ModelHost(ModelLoader loader, Meters meters) {
        this.loader = loader;
        this.meters = meters;
        meters.gauge("serveml_models_loaded", "Model versions held in memory", loaded, m -> m.size());
    }

    /**
     * Runs {@code work} on this version's loaded model, loading it first if needed, and keeps the
     * model from being closed until {@code work} returns. Blocking.
     */
    public <T> T withModel(ModelVersion version, Function<LoadedModel, T> work) {
        while (true) {
            HeldModel held = hold(version);
            LoadedModel model = held.lease();
            if (model == null) {
                continue; // unloaded between lookup and lease: it is already out of the map
            }
            try {
                return work.apply(model);
            } finally {
                held.release();
            }
        }
    }

    private HeldModel hold(ModelVersion version) {
        CompletableFuture<HeldModel> mine = new CompletableFuture<>();
        CompletableFuture<HeldModel> existing = loaded.putIfAbsent(version.id(), mine);
        if (existing != null) {
            try {
                return existing.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        long started = System.nanoTime();
        try {
            HeldModel held = new HeldModel(loader.load(version));
            long took = System.nanoTime() - started;
            meters.modelLoaded(version.modelName(), version.version(), took);
            log.info("loaded {} v{} ({}) in {} ms", version.modelName(), version.version(), version.runtime(),
                    took / 1_000_000);
            mine.complete(held);
            return held;
        } catch (RuntimeException e) {
            loaded.remove(version.id(), mine);
            mine.completeExceptionally(e);
            throw e;
        }
    }

    /** Keeps a model that was loaded elsewhere (validation at upload) so the first call is warm. */
    public void install(ModelVersion version, LoadedModel model) {
        retire(loaded.put(version.id(), CompletableFuture.completedFuture(new HeldModel(model))));
    }

    /** Drops a version from memory; calls already running on it finish first. */
    public void unload(long versionId) {
        retire(loaded.remove(versionId));
    }

    public boolean isLoaded(long versionId) {
        CompletableFuture<HeldModel> f = loaded.get(versionId);
        return f != null && f.isDone() && !f.isCompletedExceptionally();
    }

    private static void retire(CompletableFuture<HeldModel> future) {
        if (future != null) {
            future.thenAccept(HeldModel::retire);
        }
    }

    @Override
    public void close() {
        loaded.values().forEach(ModelHost::retire);
        loaded.clear();
    }
}
