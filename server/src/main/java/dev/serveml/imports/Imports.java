package dev.serveml.imports;

import dev.serveml.artifacts.StagedUpload;
import dev.serveml.audit.AuditLog;
import dev.serveml.auth.Principal;
import dev.serveml.hub.FileChoice;
import dev.serveml.hub.HubClient;
import dev.serveml.hub.HubPlan;
import dev.serveml.hub.HubRequest;
import dev.serveml.hub.RepoId;
import dev.serveml.hub.Snapshot;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.ratelimit.UserSlots;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Hub imports: {@link #start} checks an import at once and then runs it on the import pool;
 * reads and watches are by owner (administrators see all). Blocking methods (database, the Hub);
 * call them off the event loop. Thread-safe.
 */
public final class Imports implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Imports.class);
    /** Acts for the server itself when it marks what a stopped server left running. */
    static final String STOPPED = "the server stopped during the import; start it again";

    private final ImportStore store;
    private final ModelRegistry registry;
    private final HubClient hub;
    private final AuditLog audit;
    private final long maxBytes;
    private final Path staging;
    private final ExecutorService pool;
    private final ExecutorService checks;
    private final InstantSource clock;
    private final Map<String, List<Consumer<ImportEvent>>> watchers = new ConcurrentHashMap<>();
    /** Imports being checked or run, by user. */
    private final UserSlots slots;
    private volatile boolean closing;

    /**
     * @param maxBytes the most bytes an import's files may hold ({@code SERVEML_MAX_UPLOAD_SIZE})
     * @param staging  where the archive is written before it is registered (the uploads directory)
     * @param pool     a bounded pool of platform threads of its own: an import blocks on sockets and files
     * @param checks   another, for the Hub calls that answer a request (an import's checks, a preview):
     *                 they wait on the Hub for up to SERVEML_HF_TIMEOUT, so never on an HTTP worker
     *                 thread (which sign-ins and reads need), nor behind a queue of downloads
     * @param maxPerUser imports one user may have running at once ({@code SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER}):
     *                   without it one tenant's imports would fill the pool's queue and every other
     *                   tenant would be told to try again later
     */
    public Imports(ImportStore store, ModelRegistry registry, HubClient hub, AuditLog audit, long maxBytes,
                   Path staging, ExecutorService pool, ExecutorService checks, InstantSource clock, int maxPerUser) {
        this.checks = checks;
        this.slots = new UserSlots(maxPerUser);
        this.store = store;
        this.registry = registry;
        this.hub = hub;
        this.audit = audit;
        this.maxBytes = maxBytes;
        this.staging = staging;
        this.pool = pool;
        this.clock = clock;
    }

    /** Marks failed the imports a stopped (or killed) server left unfinished. Blocking; call at start-up. */
    public void resume() {
        for (HubImport left : store.unfinished()) {
            record(left.failed(ImportProblem.of(ProblemType.SERVICE_UNAVAILABLE, STOPPED), clock.instant()));
        }
    }

    /** {@link #start} on the check pool; a full pool fails the future at once with {@code service-unavailable}. */
    public CompletableFuture<HubImport> startLater(Principal caller, String modelName, ImportRequest request,
                                                   Optional<String> token) {
        return later(() -> start(caller, modelName, request, token));
    }

    /** {@link #preview} on the check pool. */
    public CompletableFuture<Preview> previewLater(Principal caller, RepoId repo, String revision,
                                                   Optional<String> variant, Optional<String> token) {
        return later(() -> preview(caller, repo, revision, variant, token));
    }

    private <T> CompletableFuture<T> later(Supplier<T> work) {
        try {
            return CompletableFuture.supplyAsync(work, checks);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "too many requests to the Hugging Face Hub are waiting on this server; try again shortly"));
        }
    }

    /**
     * Checks the import and starts it: the name may take a version from the caller, the repository
     * and revision exist and the caller may read them, it has an ONNX graph of the variant, its files
     * fit the size limit and the caller's quota. What fails here fails before anything is stored.
     *
     * @param token the caller's own Hub token (a secret: kept in memory until the import ends, no longer)
     * @return the import, validated, its download queued
     * @throws ProblemException the reason, as an upload of the same would be refused, or a {@code hub-*} one
     */
    public HubImport start(Principal caller, String modelName, ImportRequest request, Optional<String> token) {
        Runnable release = slots.tryTake(caller.userId()).orElseThrow(() -> new ProblemException(
                ProblemType.TOO_MANY_UPLOADS, "you already have " + slots.perUser() + " import(s) running "
                + "(SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER); wait for one to finish, then send this one again")
                .retryAfter(5));
        boolean started = false;
        try {
            HubImport created = check(caller, modelName, request, token, release);
            started = true;
            return created;
        } finally {
            if (!started) {
                release.run();
            }
        }
    }

    private HubImport check(Principal caller, String modelName, ImportRequest request, Optional<String> token,
                            Runnable release) {
        registry.requireMayAddVersion(caller, modelName);
        HubRequest hubRequest = new HubRequest(request.repo(), request.revision(), request.variant(), maxBytes, token,
                caller.admin());
        HubPlan plan = plan(hubRequest);
        registry.requireRoom(caller, plan.choice().totalBytes());
        java.time.Instant now = clock.instant();
        HubImport created = new HubImport(UUID.randomUUID().toString(), modelName, caller.userId(), request.source(),
                request.revision(), request.variant().orElse("fp32"), request.task().orElse(null), plan.commit(),
                ImportPhase.VALIDATING, 0, 0, plan.choice().totalBytes(), null, null, null, null, null, now, now);
        store.insert(created);
        audit.record(caller.userId(), caller.username(), caller.ip(), "model.import_started", "model:" + modelName, true,
                Map.of("import_id", created.id(), "source", created.source(), "revision", created.revision(),
                        "commit", plan.commit()));
        try {
            pool.execute(() -> run(caller, created, request, hubRequest, plan, release));
        } catch (RejectedExecutionException e) {
            ProblemException busy = new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "too many imports are running on this server; try again shortly");
            record(created.failed(ImportProblem.of(busy), clock.instant()));
            throw busy;
        }
        return created;
    }

    private void run(Principal caller, HubImport created, ImportRequest request, HubRequest hubRequest, HubPlan plan,
                     Runnable release) {
        HubImport[] current = {record(created.in(ImportPhase.DOWNLOADING, clock.instant())).state()};
        StagedUpload staged = null;
        try {
            Snapshot snapshot = hub.download(hubRequest, plan, new ImportPace(clock, r -> current[0] = record(
                    current[0].progress(r.percent(), r.doneBytes(), r.totalBytes(), r.rateBytesPerSecond(),
                            r.etaSeconds(), r.file(), clock.instant())).state()));
            current[0] = record(current[0].in(ImportPhase.LOADING, clock.instant())).state();
            staged = ImportArchive.write(snapshot, request.task(), staging, request.repo().name() + ".zip");
            ModelVersion version = registry.register(caller, created.modelName(), staged, provenance(created, plan));
            // The registry's load built the tokenizer and the ONNX session, and handed them to the host.
            current[0] = record(current[0].in(ImportPhase.PIPELINE, clock.instant())).state();
            record(current[0].ready(version.version(), clock.instant()));
        } catch (ProblemException e) {
            fail(current[0], ImportProblem.of(e));
        } catch (IOException e) {
            log.warn("import {} of {}: the archive could not be written: {}", created.id(), created.source(),
                    e.toString());
            boolean full = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("no space left");
            fail(current[0], ImportProblem.of(full ? ProblemType.STORAGE_FULL : ProblemType.INTERNAL, full
                    ? "the disk holding the uploads is full; nothing was registered"
                    : "the import's archive could not be written; nothing was registered"));
        } catch (RuntimeException e) {
            log.error("import {} of {} failed", created.id(), created.source(), e);
            fail(current[0], ImportProblem.of(ProblemType.INTERNAL, "the import failed on the server; nothing was "
                    + "registered"));
        } finally {
            release.run();
            if (staged != null) {
                try {
                    Files.deleteIfExists(staged.file());
                } catch (IOException e) {
                    log.warn("could not delete an import's archive: {}", e.getMessage());
                }
            }
        }
    }

    private void fail(HubImport current, ImportProblem why) {
        if (closing) {
            // Interrupted by the stop: left as it is, and marked at the next start (see resume).
            return;
        }
        try {
            record(current.failed(why, clock.instant()));
        } catch (RuntimeException e) {
            log.warn("import {}: its failure could not be recorded: {}", current.id(), e.toString());
        }
    }

    private static Map<String, Object> provenance(HubImport imp, HubPlan plan) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source", imp.source());
        m.put("revision", imp.revision());
        m.put("commit", plan.commit());
        m.put("variant", imp.variant());
        m.put("import_id", imp.id());
        return m;
    }

    private ImportEvent record(HubImport state) {
        ImportEvent event = store.record(state);
        for (Consumer<ImportEvent> watcher : watchers.getOrDefault(state.id(), List.of())) {
            try {
                watcher.accept(event);
            } catch (RuntimeException e) {
                log.warn("an import event watcher failed: {}", e.toString());
            }
        }
        return event;
    }

    /** An import the caller may see, of that model, or the not-found problem (the same for both). */
    public HubImport require(Principal caller, String modelName, String id) {
        return store.find(id).filter(i -> i.modelName().equals(modelName)).filter(i -> caller.canSee(i.ownerId()))
                .orElseThrow(() -> new ProblemException(ProblemType.ROUTE_NOT_FOUND, "model '" + modelName
                        + "' has no import '" + abbreviate(id) + "'"));
    }

    /** The imports to a model name the caller may see, newest first. */
    public List<HubImport> list(Principal caller, String modelName) {
        registry.requireNotHidden(caller, modelName);
        return store.list(modelName).stream().filter(i -> caller.canSee(i.ownerId())).toList();
    }

    /** An import's events so far, oldest first. */
    public List<ImportEvent> events(HubImport imp) {
        return store.events(imp.id());
    }

    /**
     * Calls {@code watcher} with every event of the import recorded from now on, on the recording
     * thread, until the returned handle is run. Register before reading past events.
     */
    public Runnable watch(HubImport imp, Consumer<ImportEvent> watcher) {
        watchers.computeIfAbsent(imp.id(), id -> new CopyOnWriteArrayList<>()).add(watcher);
        return () -> watchers.computeIfPresent(imp.id(), (id, list) -> {
            list.remove(watcher);
            return list.isEmpty() ? null : list;
        });
    }

    /**
     * What an import would fetch, before anything is: the commit, the files with their sizes and
     * which are needed, and whether the cache holds them. The token policy is an import's.
     */
    public Preview preview(Principal caller, RepoId repo, String revision, Optional<String> variant,
                           Optional<String> token) {
        HubPlan plan = plan(new HubRequest(repo, revision, variant, maxBytes, token, caller.admin()));
        List<String> needed = plan.choice().files().stream().map(f -> f.path()).toList();
        List<Preview.File> files = plan.listing().stream()
                .map(f -> new Preview.File(f.path(), f.size(), needed.contains(f.path()))).toList();
        Optional<String> tag = plan.pipelineTag();
        return new Preview(repo.id(), revision, plan.commit(), tag, tag.filter(ImportRequest.TASKS::contains),
                plan.info().map(i -> i.isPrivate()).orElse(false), plan.info().map(i -> i.gated()).orElse(false),
                FileChoice.available(plan.listing()), files, plan.choice().totalBytes(), hub.cached(plan));
    }

    private HubPlan plan(HubRequest request) {
        try {
            return hub.plan(request);
        } catch (ProblemException e) {
            throw ImportRequest.invalid(e);
        }
    }

    private static String abbreviate(String text) {
        return text.length() > 64 ? text.substring(0, 64) + "..." : text;
    }

    /** Stops the pool; imports cut short by it are left for {@link #resume} to mark at the next start. */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        checks.shutdownNow();
        pool.shutdownNow();
        pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    }
}
