package dev.serveml.inference;

import dev.serveml.config.HostingConfig;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.VersionEvent;
import dev.serveml.registry.VersionListener;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Resources;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The versions held in memory, keyed by version id. A version loads once on first use (callers
 * arriving during a load wait for that same load) and counts as loaded after a warm-up call.
 * Loads run on their own executor and waiting for one is a future, so a slow load (a Python
 * environment, a 20 s {@code load()}) never holds a thread that model calls need; its waiters
 * are bounded and keep their deadlines as a queue's would. The
 * loaded versions' {@link LoadedModel#memoryBytes()} are kept within a budget: loading past it
 * unloads the least recently used versions that are neither pinned nor held by a request. A model
 * is closed only after the requests holding it have let go. Thread-safe.
 */
public final class ModelHost implements VersionListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelHost.class);

    /**
     * A request's hold on a loaded version: the model is not closed until it is released.
     * Release exactly once.
     */
    public static final class Lease {
        private final ModelHost host;
        private final Slot slot;
        private final HeldModel held;

        private Lease(ModelHost host, Slot slot, HeldModel held) {
            this.host = host;
            this.slot = slot;
            this.held = held;
        }

        public LoadedModel model() {
            return held.model();
        }

        public Batcher batcher() {
            return held.batcher();
        }

        /**
         * Whether the loaded model's signature is the registry's, so inputs bound against the
         * registry's copy fit it (compared once, when it loaded).
         */
        public boolean signatureRegistered() {
            return held.signatureRegistered();
        }

        /** What in this copy's resources can change its answers ({@link Resources#answerVariant()}). */
        public String answerVariant() {
            return slot.serving.resources().answerVariant();
        }

        public void release() {
            held.release();
            host.touch(slot);
        }
    }

    /** Makes the queue for a freshly loaded version. */
    @FunctionalInterface
    public interface Queues {
        Batcher create(ModelVersion version, LoadedModel model, Serving serving);
    }

    /** What {@link #configure} did to a version. */
    public enum Change {
        /** Not in memory: the settings apply when it loads. */
        NOT_LOADED,
        /** Loaded with these settings already. */
        UNCHANGED,
        /** Loaded; its queue took the new batching at once. */
        BATCHING,
        /** Loaded with other resources: {@link #reload} it for them to apply. */
        RELOAD_NEEDED
    }

    /** One version's place in memory; {@code ready} completes when it is loaded and warmed up. */
    private static final class Slot {
        final ModelVersion version;
        final CompletableFuture<HeldModel> ready = new CompletableFuture<>();
        final AtomicInteger waiters = new AtomicInteger(); // bounded callers waiting for the load
        volatile Serving serving; // what it was loaded with; batching may change later
        volatile long lastUsed; // written without the host's lock: on every request, and races are harmless

        Slot(ModelVersion version, Serving serving, long now) {
            this.version = version;
            this.serving = serving;
            this.lastUsed = now;
        }

        HeldModel loaded() {
            return ready.isDone() && !ready.isCompletedExceptionally() ? ready.join() : null;
        }
    }

    private final ModelLoader loader;
    private final HostingConfig config;
    private final Serving defaults;
    private final Queues batchers;
    private final Executor loads;
    private final int queueCapacity;
    private final Ticker ticker;
    private final Meters meters;
    private final Map<Long, Slot> slots = new HashMap<>();
    private final Set<Long> pinned = new HashSet<>();
    private final Map<Long, Serving> serving = new ConcurrentHashMap<>(); // read on every request, without the lock

    /**
     * @param defaults how versions no deployment configures are served
     * @param batchers      makes the queue for a freshly loaded version
     * @param loads         where loads run (artifact fetch, session or worker start, warm-up): never
     *                      the pool of model calls, which a slow load would otherwise stall
     * @param queueCapacity requests that may wait for one version's load, as its queue would hold
     */
    public ModelHost(ModelLoader loader, HostingConfig config, Serving defaults, Queues batchers, Executor loads,
                     int queueCapacity, Ticker ticker, Meters meters) {
        this.loads = loads;
        this.queueCapacity = queueCapacity;
        this.loader = loader;
        this.config = config;
        this.defaults = defaults;
        this.batchers = batchers;
        this.ticker = ticker;
        this.meters = meters;
        meters.gauge("serveml_models_loaded", "Model versions held in memory", this, h -> h.loadedCount());
        meters.gauge("serveml_models_memory_bytes", "Estimated memory of the loaded model versions", this,
                h -> h.memoryInUse());
    }

    /**
     * Holds this version's loaded model, loading it first if needed. Blocking (a load can take
     * long): for callers off the request path (rollouts, explicit loads); the load itself runs on
     * the loads executor. Not bounded by the queue capacity and without a deadline. The model stays
     * loaded until the lease is released.
     *
     * @throws RuntimeException whatever the load threw (a {@code ProblemException} for the client)
     */
    public Lease acquire(ModelVersion version) {
        try {
            return acquire(version, Long.MAX_VALUE, false).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /**
     * Holds this version's loaded model, starting its load on the loads executor if needed. Never
     * blocks beyond the host's short lock: a caller waiting for a load holds no thread. Completes at
     * once when the version is loaded. While it loads, at most the queue capacity of callers wait
     * ({@code queue-full} at once past it), and a caller whose deadline passes first fails with
     * {@code inference-timeout}, as in the version's queue.
     *
     * @param deadlineNanos on {@link Ticker#nanoTime()}'s scale
     * @return completes with the lease (release it), or exceptionally with whatever the load threw
     *         (a {@code ProblemException} for the client)
     */
    public CompletableFuture<Lease> acquireAsync(ModelVersion version, long deadlineNanos) {
        return acquire(version, deadlineNanos, true);
    }

    private CompletableFuture<Lease> acquire(ModelVersion version, long deadlineNanos, boolean bounded) {
        while (true) {
            Slot slot;
            boolean mine = false;
            synchronized (this) {
                slot = slots.get(version.id());
                if (slot == null) {
                    slot = new Slot(version, servingOf(version.id()), ticker.nanoTime());
                    slots.put(version.id(), slot);
                    mine = true;
                }
            }
            if (mine) {
                startLoad(slot);
            }
            if (!slot.ready.isDone()) {
                return await(slot, deadlineNanos, bounded);
            }
            if (slot.ready.isCompletedExceptionally()) {
                return CompletableFuture.failedFuture(slot.ready.exceptionNow()); // the load's failure
            }
            HeldModel held = slot.ready.join();
            if (held.tryLease()) {
                touch(slot);
                return CompletableFuture.completedFuture(new Lease(this, slot, held));
            }
            // Unloaded between lookup and lease: it is already out of the map; look again.
        }
    }

    /** Runs the slot's load on the loads executor; its outcome goes to {@code slot.ready}. */
    private void startLoad(Slot slot) {
        Serving settings = slot.serving;
        Runnable task = () -> {
            try {
                load(slot, () -> loader.load(slot.version, settings.resources()));
            } catch (RuntimeException | Error e) {
                log.debug("loading {} failed: {}", slot.version.label(), e.toString()); // its waiters have it
            }
        };
        try {
            loads.execute(task);
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                slots.remove(slot.version.id(), slot);
            }
            slot.ready.completeExceptionally(new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "the server is shutting down"));
        }
    }

    /** A future lease for a caller waiting on a load under way, bounded and timed like a queued request. */
    private CompletableFuture<Lease> await(Slot slot, long deadlineNanos, boolean bounded) {
        ModelVersion version = slot.version;
        CompletableFuture<Lease> lease = new CompletableFuture<>();
        AtomicBoolean waiting = new AtomicBoolean(bounded);
        if (bounded && slot.waiters.incrementAndGet() > queueCapacity) {
            slot.waiters.decrementAndGet();
            meters.rejected(version.modelName(), version.version(), "queue_full");
            lease.completeExceptionally(new ProblemException(ProblemType.QUEUE_FULL, "the queue of "
                    + version.modelName() + " v" + version.version() + " is full (" + queueCapacity
                    + " requests waiting for it to load); retry shortly"));
            return lease;
        }
        Runnable leave = () -> {
            if (waiting.compareAndSet(true, false)) {
                slot.waiters.decrementAndGet();
            }
        };
        if (deadlineNanos != Long.MAX_VALUE) {
            ticker.schedule(deadlineNanos - ticker.nanoTime(), () -> {
                if (lease.completeExceptionally(new ProblemException(ProblemType.INFERENCE_TIMEOUT, "the request's "
                        + "deadline passed while it waited for " + version.modelName() + " v" + version.version()
                        + " to load; it was not run"))) {
                    leave.run();
                    meters.rejected(version.modelName(), version.version(), "timeout");
                }
            });
        }
        slot.ready.whenComplete((held, failure) -> {
            leave.run();
            if (lease.isDone()) {
                return; // its deadline passed first
            }
            if (failure != null) {
                lease.completeExceptionally(failure instanceof CompletionException c && c.getCause() != null
                        ? c.getCause() : failure);
                return;
            }
            // Unloaded at once after loading (evicted, reloaded): look again, as a blocking caller would.
            CompletableFuture<Lease> next;
            if (held.tryLease()) {
                touch(slot);
                next = CompletableFuture.completedFuture(new Lease(this, slot, held));
            } else {
                next = acquire(version, deadlineNanos, bounded);
            }
            next.whenComplete((got, error) -> {
                if (error != null) {
                    lease.completeExceptionally(error instanceof CompletionException c && c.getCause() != null
                            ? c.getCause() : error);
                } else if (!lease.complete(got)) {
                    got.release(); // timed out meanwhile
                }
            });
        });
        return lease;
    }

    /**
     * A lease on this version if it is loaded and ready now; empty (without loading anything)
     * otherwise. Never blocks beyond the host's short lock, so it may be called on an event loop.
     */
    public Optional<Lease> tryAcquireLoaded(ModelVersion version) {
        Slot slot;
        synchronized (this) {
            slot = slots.get(version.id());
        }
        HeldModel held = slot == null ? null : slot.loaded();
        if (held == null || !held.tryLease()) {
            return Optional.empty();
        }
        touch(slot);
        return Optional.of(new Lease(this, slot, held));
    }

    /** Runs {@code work} on this version's loaded model, holding it meanwhile. Blocking. */
    public <T> T withModel(ModelVersion version, Function<LoadedModel, T> work) {
        Lease lease = acquire(version);
        try {
            return work.apply(lease.model());
        } finally {
            lease.release();
        }
    }

    /**
     * The registry's changes (subscribe this host to it): a registered version's validated model is
     * kept so its first call is warm; a retired version is unloaded.
     */
    @Override
    public void on(VersionEvent event) {
        switch (event) {
            case VersionEvent.Registered registered -> {
                LoadedModel model = registered.adopt();
                if (model != null) {
                    install(registered.version(), model);
                }
            }
            case VersionEvent.Retired retired -> unload(retired.versionId());
        }
    }

    /** Keeps a model that was loaded elsewhere (validation at upload) so the first call is warm. */
    public void install(ModelVersion version, LoadedModel model) {
        Slot slot;
        Slot previous;
        synchronized (this) {
            slot = new Slot(version, servingOf(version.id()), ticker.nanoTime());
            previous = slots.put(version.id(), slot);
        }
        retire(previous);
        load(slot, () -> model);
    }

    /** How this version is served: as configured, else the defaults. */
    public Serving servingOf(long versionId) {
        return serving.getOrDefault(versionId, defaults);
    }

    /** How versions no deployment configures are served. */
    public Serving defaults() {
        return defaults;
    }

    /**
     * Sets how a version is served from now on (empty: the defaults again). A loaded version's
     * queue takes new batching at once and its idle time counts at the next sweep; new resources
     * need {@link #reload}, which this leaves to the caller (a load can take long).
     */
    public Change configure(long versionId, Optional<Serving> settings) {
        Serving wanted = settings.orElse(defaults);
        HeldModel held;
        Slot slot;
        synchronized (this) {
            if (settings.isPresent()) {
                serving.put(versionId, wanted);
            } else {
                serving.remove(versionId);
            }
            slot = slots.get(versionId);
            held = slot == null ? null : slot.loaded();
            if (slot == null) {
                return Change.NOT_LOADED;
            }
            if (slot.serving.equals(wanted)) {
                return Change.UNCHANGED;
            }
            if (held == null || !slot.serving.resources().equals(wanted.resources())) {
                return Change.RELOAD_NEEDED; // a load under way uses the old resources, too
            }
            slot.serving = wanted;
        }
        held.batcher().reconfigure(wanted.maxBatchSize(), wanted.maxQueueDelay());
        return Change.BATCHING;
    }

    /**
     * Loads a version again with its current settings, beside the copy in memory, then swaps:
     * requests keep the old copy until the new one is warm, and those holding it finish on it.
     * Blocking.
     */
    public void reload(ModelVersion version) {
        Slot fresh;
        synchronized (this) {
            fresh = new Slot(version, servingOf(version.id()), ticker.nanoTime());
        }
        Serving settings = fresh.serving;
        load(fresh, () -> loader.load(version, settings.resources()));
        Slot previous;
        synchronized (this) {
            previous = slots.put(version.id(), fresh);
        }
        retire(previous);
        log.info("reloaded {} with {}", version.label(), settings.resources().describe());
    }

    private void load(Slot slot, Supplier<LoadedModel> source) {
        ModelVersion version = slot.version;
        long started = ticker.nanoTime();
        HeldModel held;
        try {
            LoadedModel model = source.get();
            try {
                evictToFit(slot, model.memoryBytes());
                WarmUp.run(version, model, slot.serving.warmUp());
                held = new HeldModel(model, batchers.create(version, model, slot.serving), version.signature());
            } catch (RuntimeException | Error e) {
                model.close();
                throw e;
            }
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                slots.remove(version.id(), slot);
            }
            slot.ready.completeExceptionally(e);
            throw e;
        }
        long took = ticker.nanoTime() - started;
        meters.modelLoaded(version.modelName(), version.version(), took);
        meters.modelLoad(version.modelName(), version.version());
        log.info("loaded {} v{} ({}, ~{} MB) in {} ms", version.modelName(), version.version(), version.runtime(),
                held.memoryBytes() >> 20, took / 1_000_000);
        touch(slot);
        slot.ready.complete(held); // if it was unloaded meanwhile, the retire waiting on this runs now
    }

    /**
     * Unloads least recently used versions, never pinned or held ones, until {@code needed} more
     * bytes fit in the budget. When nothing more can go, loads anyway: a request is never failed
     * for memory the host cannot free.
     */
    private void evictToFit(Slot loading, long needed) {
        List<Slot> evicted = new ArrayList<>();
        long used;
        synchronized (this) {
            used = memoryInUse();
            List<Slot> candidates = new ArrayList<>();
            for (Slot s : slots.values()) {
                if (s.version.id() != loading.version.id() && s.loaded() != null && !pinned.contains(s.version.id())) {
                    candidates.add(s);
                }
            }
            candidates.sort(Comparator.comparingLong(s -> s.lastUsed));
            for (Slot s : candidates) {
                if (used + needed <= config.modelMemory()) {
                    break;
                }
                if (s.loaded().retireIfIdle()) { // false while a request holds it
                    slots.remove(s.version.id());
                    used -= s.loaded().memoryBytes();
                    evicted.add(s);
                }
            }
        }
        for (Slot s : evicted) {
            s.loaded().closeModel();
            meters.modelEviction(s.version.modelName(), s.version.version());
            meters.modelUnload(s.version.modelName(), s.version.version());
            log.info("evicted {} v{} (least recently used) to load {} within the {} MB model memory budget",
                    s.version.modelName(), s.version.version(), loading.version.label(), config.modelMemory() >> 20);
        }
        if (used + needed > config.modelMemory()) {
            log.warn("loading {} (~{} MB) goes past the {} MB model memory budget: every other loaded version is "
                            + "pinned or in use", loading.version.label(), needed >> 20, config.modelMemory() >> 20);
        }
    }

    /**
     * Runs this version's warm-up sample (its serving settings') on the loaded copy, loading it
     * first if needed: a deployment that gives a sample for a version already in memory checks it
     * this way. Blocking.
     *
     * @throws dev.serveml.problem.ProblemException {@code invalid-deployment} when the sample fails
     */
    public void warmUp(ModelVersion version) {
        Optional<WarmUp.Sample> sample = servingOf(version.id()).warmUp();
        if (sample.isPresent()) {
            withModel(version, model -> {
                WarmUp.run(version, model, sample);
                return Boolean.TRUE;
            });
        }
    }

    /** Keeps a version loaded whatever the budget says, until {@link #unpin}. Need not be loaded. */
    public synchronized void pin(long versionId) {
        pinned.add(versionId);
    }

    public synchronized void unpin(long versionId) {
        pinned.remove(versionId);
    }

    /**
     * Unloads the versions that are not pinned, not held, and unused for their idle time (none
     * when it is zero). The composition root calls this periodically.
     */
    public void sweepIdle() {
        List<Slot> unloaded = new ArrayList<>();
        synchronized (this) {
            long now = ticker.nanoTime();
            for (var it = slots.values().iterator(); it.hasNext(); ) {
                Slot s = it.next();
                HeldModel h = s.loaded();
                long idle = s.serving.idleUnload().toNanos();
                if (h != null && idle > 0 && !pinned.contains(s.version.id()) && now - s.lastUsed >= idle
                        && h.retireIfIdle()) {
                    it.remove();
                    unloaded.add(s);
                }
            }
        }
        for (Slot s : unloaded) {
            s.loaded().closeModel();
            meters.modelUnload(s.version.modelName(), s.version.version());
            log.info("unloaded {} v{}: idle for {}", s.version.modelName(), s.version.version(), s.serving.idleUnload());
        }
    }

    /** Drops a version from memory; requests holding it finish first. */
    public void unload(long versionId) {
        Slot slot;
        synchronized (this) {
            slot = slots.remove(versionId);
        }
        if (slot != null && slot.loaded() != null) {
            meters.modelUnload(slot.version.modelName(), slot.version.version());
        }
        retire(slot);
    }

    public synchronized boolean isLoaded(long versionId) {
        Slot slot = slots.get(versionId);
        return slot != null && slot.loaded() != null;
    }

    /** Model calls a loaded version runs at once (its workers, or concurrent session runs); empty if not loaded. */
    public synchronized OptionalInt instances(long versionId) {
        Slot slot = slots.get(versionId);
        HeldModel held = slot == null ? null : slot.loaded();
        return held == null ? OptionalInt.empty() : OptionalInt.of(held.batcher().maxInFlight());
    }

    /**
     * The loaded versions that refuse calls right now, by label ("iris v3"), with why; empty when
     * every loaded version serves. For readiness: a replica with one broken model still serves the others.
     */
    public Map<String, String> unavailable() {
        List<Slot> loaded;
        synchronized (this) {
            loaded = new ArrayList<>(slots.values());
        }
        Map<String, String> refusing = new java.util.TreeMap<>();
        for (Slot s : loaded) {
            HeldModel h = s.loaded();
            if (h != null) {
                h.model().unavailable().ifPresent(why -> refusing.put(s.version.label(), why));
            }
        }
        return refusing;
    }

    /** Why this loaded version refuses calls right now; empty when it serves or is not loaded. */
    public Optional<String> unavailable(long versionId) {
        HeldModel held;
        synchronized (this) {
            Slot slot = slots.get(versionId);
            held = slot == null ? null : slot.loaded();
        }
        return held == null ? Optional.empty() : held.model().unavailable();
    }

    private void touch(Slot slot) {
        slot.lastUsed = ticker.nanoTime();
    }

    private synchronized int loadedCount() {
        return (int) slots.values().stream().filter(s -> s.loaded() != null).count();
    }

    /** Bytes the loaded versions claim; versions still loading count once they are done. */
    synchronized long memoryInUse() {
        long total = 0;
        for (Slot s : slots.values()) {
            HeldModel h = s.loaded();
            total += h == null ? 0 : h.memoryBytes();
        }
        return total;
    }

    private static void retire(Slot slot) {
        if (slot != null) {
            slot.ready.thenAccept(HeldModel::retire);
        }
    }

    @Override
    public void close() {
        List<Slot> all;
        synchronized (this) {
            all = new ArrayList<>(slots.values());
            slots.clear();
        }
        all.forEach(ModelHost::retire);
    }
}
