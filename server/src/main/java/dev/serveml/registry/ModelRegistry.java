package dev.serveml.registry;

import dev.serveml.artifacts.ArtifactStore;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.serveml.audit.AuditLog;
import dev.serveml.config.StorageConfig;
import dev.serveml.auth.Principal;
import dev.serveml.artifacts.StagedUpload;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.Signature;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.Resources;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.ModelRuntime;
import dev.serveml.runtime.Runtimes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * Models and versions: registration of uploads, reads, lifecycle and soft deletion, and the
 * choice of the version that serves a call. Every method is blocking (database and files);
 * call it off the event loop. Thread-safe.
 *
 * <p>The serving lookups are answered from an in-process snapshot per model name, dropped on
 * every write made through this registry. In a cluster, other replicas' writes will reach it
 * through change notifications (not built yet).
 */
public final class ModelRegistry {
    private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);
    /**
     * The one rule for model and deployment names. The dashboard loads it from the server
     * ({@code /ui/rules.js}) and openapi.json states it (ApiNameRuleTest holds the two equal).
     */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** Model names kept in memory for serving; more than a server hosts, few enough to stay small. */
    private static final int MAX_SNAPSHOTS = 10_000;
    /** How long a name that matched no model is remembered (anyone can ask for any name). */
    private static final Duration UNKNOWN_NAME_TTL = Duration.ofSeconds(5);

    /** What serving needs to know about one model, read once and reused until a write. */
    private record Snapshot(Model model, List<ModelVersion> versions) {
    }

    private final ModelStore store;
    private final ArtifactStore artifacts;
    private final Runtimes runtimes;
    /** Those who serve versions (the model host): told of changes, never called otherwise. */
    private final List<VersionListener> listeners = new CopyOnWriteArrayList<>();
    private final AuditLog audit;
    // Maintenance delayed a little so that the drains asked for by hot reads coalesce (see LocalRateLimiter).
    private final Snapshots<Snapshot> snapshots = new Snapshots<>(MAX_SNAPSHOTS, UNKNOWN_NAME_TTL,
            Ticker.systemTicker(), CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS));
    private final long quotaBytesPerUser;
    private final Executor validations;

    /**
     * @param storage     the per-user storage quota
     * @param validations where uploads are validated by loading them: a bounded pool of its own,
     *                    so slow models never hold the HTTP worker threads that sign-ins and reads use
     */
    public ModelRegistry(ModelStore store, ArtifactStore artifacts, Runtimes runtimes, AuditLog audit,
                         StorageConfig storage, Executor validations) {
        this.audit = audit;
        this.store = store;
        this.artifacts = artifacts;
        this.runtimes = runtimes;
        this.quotaBytesPerUser = storage.quotaBytesPerUser();
        this.validations = validations;
    }

    /**
     * {@link #register} on the validation pool. When that pool's queue is full the future fails
     * at once with {@code service-unavailable} and the staged file is deleted.
     */
    public CompletableFuture<ModelVersion> registerLater(Principal caller, String modelName, StagedUpload upload) {
        try {
            return CompletableFuture.supplyAsync(() -> register(caller, modelName, upload), validations);
        } catch (RejectedExecutionException e) {
            deleteQuietly(upload);
            return CompletableFuture.failedFuture(new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                    "too many uploads are waiting to be validated on this server; try again shortly"));
        }
    }

    /**
     * Validates an upload by loading it, stores the artifact and registers it as the model's next
     * version (creating the model if new). On any failure nothing is left: no row, no artifact,
     * no temporary file.
     */
    public ModelVersion register(Principal caller, String modelName, StagedUpload upload) {
        return register(caller, modelName, upload, Map.of());
    }

    /**
     * {@link #register}, with {@code provenance} added to the version's metadata beside what the
     * runtime reports (a Hub import's source, revision, commit): these win over a runtime's keys of the same name.
     */
    public ModelVersion register(Principal caller, String modelName, StagedUpload upload,
                                 Map<String, Object> provenance) {
        LoadedModel loaded = null;
        try {
            if (upload.size() == 0) {
                requireValidName(modelName);
                throw new ProblemException(ProblemType.EMPTY_UPLOAD, "the uploaded file '" + upload.fileName()
                        + "' is empty; send the model file's bytes in the multipart part named 'file'");
            }
            Uploader uploader = requireMayAdd(caller, modelName);
            Runtimes.Detected detected = runtimes.detect(upload.fileName(), upload.head(), upload.file());
            ModelRuntime runtime = detected.runtime();
            String format = detected.format();
            String key = ArtifactStore.keyFor(upload.sha256(), upload.extension());
            if (uploader.hasQuota()) {
                ModelStore.StoredBytes stored = store.storedBytes(uploader.userId(), key);
                uploader.requireRoom(stored.total(), stored.adding(upload.size()));
            }
            try {
                loaded = runtime.load(new LoadRequest(upload.file(), format, upload.fileName(), modelName,
                        modelName + " (new version)",
                        upload.requirements(), Resources.DEFAULT));
            } catch (ProblemException e) {
                if (e.type() != ProblemType.ENVIRONMENT_FAILED) {
                    throw e;
                }
                // The file is fine but its dependencies are not: keep the version, failed, with the tool's words.
                ModelVersion failed = insert(caller, uploader, modelName, upload, key, new NewVersion(format, runtime.name(),
                        upload.sha256(), upload.size(), key, upload.fileName(), new Signature(List.of(), List.of()),
                        VersionStatus.FAILED, e.detail(), upload.requirements(), Map.of()));
                throw new ProblemException(ProblemType.ENVIRONMENT_FAILED, "version " + failed.version() + " of '"
                        + modelName + "' is registered as failed: " + e.detail());
            }
            // The server's own record of where the files came from wins over what the model reports.
            Map<String, Object> metadata = new java.util.LinkedHashMap<>(loaded.metadata());
            metadata.putAll(provenance);
            ModelVersion version = insert(caller, uploader, modelName, upload, key, new NewVersion(format, runtime.name(),
                    upload.sha256(), upload.size(), key, upload.fileName(), loaded.signature(), VersionStatus.READY,
                    "", upload.requirements(), metadata));
            VersionEvent.Registered registered = new VersionEvent.Registered(version, loaded);
            loaded = null;
            try {
                publish(registered);
            } finally {
                registered.closeUnadopted();
            }
            log.info("registered {} v{} ({}, {} bytes, sha256 {})", modelName, version.version(), format,
                    upload.size(), upload.sha256());
            return version;
        } finally {
            if (loaded != null) {
                loaded.close();
            }
            deleteQuietly(upload);
        }
    }

    /**
     * What an upload of a version of {@code modelName} by the caller is refused for before its file
     * is looked at: the name rule, a name someone else holds, a deleted model. A first answer only:
     * {@link #register} decides again under the model's row lock.
     */
    public void requireMayAddVersion(Principal caller, String modelName) {
        requireMayAdd(caller, modelName);
    }

    private Uploader requireMayAdd(Principal caller, String modelName) {
        requireValidName(modelName);
        Uploader uploader = uploader(caller);
        Optional<Model> existing = store.findModel(modelName);
        // A first answer before the slow load; the insert checks both again under the row lock.
        if (existing.isPresent() && !uploader.mayAddTo(existing.get().ownerId())) {
            // Names are global (they are V2 model names too); say it is taken without saying by whom.
            throw Uploader.nameTaken(modelName);
        }
        if (existing.isPresent() && existing.get().deleted()) {
            throw new ProblemException(ProblemType.MODEL_DELETED, "model '" + modelName
                    + "' is deleted; restore it (POST /api/v1/models/" + modelName
                    + "/restore) or upload under another name");
        }
        return uploader;
    }

    /**
     * Refuses, before anything is fetched, a version of about {@code bytes} that would take the
     * caller past their storage quota (an import knows its size before it downloads). A first
     * answer only: {@link #register} decides again with the real artifact.
     */
    public void requireRoom(Principal caller, long bytes) {
        Uploader uploader = uploader(caller);
        if (uploader.hasQuota()) {
            uploader.requireRoom(store.storedBytes(uploader.userId(), "(not stored yet)").total(), bytes);
        }
    }

    /** Inserts the row and moves the artifact in, in one transaction; a failure leaves neither. */
    private ModelVersion insert(Principal caller, Uploader uploader, String modelName, StagedUpload upload, String key,
                                NewVersion draft) {
        AtomicBoolean created = new AtomicBoolean();
        try {
            ModelVersion version = store.insertVersion(modelName, uploader, draft,
                    v -> created.set(artifacts.put(key, upload.file())));
            snapshots.forget(modelName);
            audit(caller, "model.version_uploaded", modelName, Map.of("version", version.version(),
                    "sha256", draft.sha256(), "status", draft.status().value()));
            return version;
        } catch (RuntimeException e) {
            if (created.get()) {
                artifacts.delete(key);
            }
            throw e;
        }
    }

    /** The caller as the store checks an upload: administrators add to any model and have no quota. */
    private Uploader uploader(Principal caller) {
        return new Uploader(caller.userId(), caller.admin(), caller.admin() ? Long.MAX_VALUE : quotaBytesPerUser);
    }

    /** Adds one who serves versions; see {@link VersionEvent}. */
    public void subscribe(VersionListener listener) {
        listeners.add(listener);
    }

    private void publish(VersionEvent event) {
        for (VersionListener listener : listeners) {
            try {
                listener.on(event);
            } catch (RuntimeException e) {
                // The change is stored; a listener's failure must not undo it or hide it from the others.
                log.warn("a version listener failed on {}: {}", event, e.toString());
            }
        }
    }

    /** The models the caller may see (all for an admin), deleted ones too when asked. */
    public List<Model> listModels(Principal caller, boolean includeDeleted) {
        return store.listModels(includeDeleted).stream().filter(m -> caller.canSee(m.ownerId())).toList();
    }

    /** The models the caller may predict with (theirs, public ones; all for an admin), not deleted. */
    public List<Model> listUsableModels(Principal caller) {
        return store.listModels(false).stream().filter(m -> m.isPublic() || caller.canSee(m.ownerId())).toList();
    }

    /**
     * Refuses with the not-found problem when a model of this name exists and the caller may not see
     * it: for reads keyed by a model name that need no model yet (a Hub import's list), which must
     * answer another tenant's name as an unknown one, as every model route does.
     */
    public void requireNotHidden(Principal caller, String name) {
        if (store.findModel(name).filter(m -> !caller.canSee(m.ownerId())).isPresent()) {
            throw modelNotFound(name);
        }
    }

    /** A model the caller may see that is not deleted, or the not-found problem (the same for both). */
    public Model requireModel(Principal caller, String name) {
        return store.findModel(name).filter(m -> !m.deleted()).filter(m -> caller.canSee(m.ownerId()))
                .orElseThrow(() -> modelNotFound(name));
    }

    public List<ModelVersion> listVersions(Principal caller, String modelName, boolean includeDeleted) {
        return store.listVersions(requireModel(caller, modelName).id(), includeDeleted);
    }

    public ModelVersion requireVersion(Principal caller, String modelName, int version) {
        Model model = requireModel(caller, modelName);
        return store.findVersion(model.id(), version).filter(v -> !v.deleted())
                .orElseThrow(() -> versionNotFound(modelName, version));
    }

    /** Changes a model's settings (public flag, per-caller rate limit, description). */
    public Model updateSettings(Principal caller, String name, ModelSettings settings) {
        requireModel(caller, name);
        Model updated = store.updateModelSettings(name, settings).orElseThrow();
        snapshots.forget(name);
        audit(caller, "model.settings_changed", name, settings.changes());
        return updated;
    }

    public ModelVersion setState(Principal caller, String modelName, int version, VersionState state) {
        Model model = requireModel(caller, modelName);
        store.findVersion(model.id(), version).filter(v -> !v.deleted())
                .orElseThrow(() -> versionNotFound(modelName, version));
        ModelVersion updated = store.updateVersionState(model.id(), version, state).orElseThrow();
        if (state == VersionState.ACTIVE && updated.status() == VersionStatus.FAILED) {
            // Re-activating a failed version is how a user asks ServeML to try it again.
            updated = store.updateVersionStatus(updated.id(), VersionStatus.READY, "").orElseThrow();
        }
        snapshots.forget(modelName);
        if (state == VersionState.ARCHIVED) {
            publish(new VersionEvent.Retired(updated.id()));
        }
        audit(caller, "model.version_state_changed", modelName, Map.of("version", version, "state", state.value()));
        return updated;
    }

    public ModelVersion deleteVersion(Principal caller, String modelName, int version) {
        Model model = requireModel(caller, modelName);
        ModelVersion deleted = store.findVersion(model.id(), version).filter(v -> !v.deleted())
                .flatMap(v -> store.setVersionDeleted(model.id(), version, true))
                .orElseThrow(() -> versionNotFound(modelName, version));
        snapshots.forget(modelName);
        publish(new VersionEvent.Retired(deleted.id()));
        audit(caller, "model.version_deleted", modelName, Map.of("version", version));
        return deleted;
    }

    public ModelVersion restoreVersion(Principal caller, String modelName, int version) {
        Model model = requireModel(caller, modelName);
        ModelVersion current = store.findVersion(model.id(), version)
                .orElseThrow(() -> versionNotFound(modelName, version));
        if (!current.deleted()) {
            throw new ProblemException(ProblemType.NOT_DELETED, "version " + version + " of model '" + modelName
                    + "' is not deleted");
        }
        ModelVersion restored = store.setVersionDeleted(model.id(), version, false).orElseThrow();
        snapshots.forget(modelName);
        audit(caller, "model.version_restored", modelName, Map.of("version", version));
        return restored;
    }

    public Model deleteModel(Principal caller, String name) {
        requireModel(caller, name);
        Model deleted = store.setModelDeleted(name, true).orElseThrow(() -> modelNotFound(name));
        snapshots.forget(name);
        store.listVersions(deleted.id(), true).forEach(v -> publish(new VersionEvent.Retired(v.id())));
        audit(caller, "model.deleted", name, Map.of());
        return deleted;
    }

    public Model restoreModel(Principal caller, String name) {
        Model model = store.findModel(name).filter(m -> caller.canSee(m.ownerId()))
                .orElseThrow(() -> modelNotFound(name));
        if (!model.deleted()) {
            throw new ProblemException(ProblemType.NOT_DELETED, "model '" + name + "' is not deleted");
        }
        Model restored = store.setModelDeleted(name, false).orElseThrow();
        snapshots.forget(name);
        audit(caller, "model.restored", name, Map.of());
        return restored;
    }

    /**
     * The version that serves a call: the one asked for (active or deprecated), or else the
     * highest active version. Answered from the snapshot after the first call.
     */
    public ModelVersion resolveServable(Principal caller, String modelName, Optional<Integer> version) {
        return resolveIn(servableSnapshot(caller, modelName), modelName, version);
    }

    /** A model and the version that serves a call to it. */
    public record Served(Model model, ModelVersion version) {
    }

    /**
     * What {@link #requireServableModel} and {@link #resolveServable} would answer, if this model
     * is already in memory; empty when it is not, or when the call would fail (the blocking
     * methods then give the reason). Never blocks: the predict fast path calls it on an event loop.
     */
    public Optional<Served> findServableInMemory(Principal caller, String modelName, Optional<Integer> version) {
        Optional<Snapshot> snapshot = snapshots.find(modelName);
        if (snapshot.isEmpty()
                || !(snapshot.get().model().isPublic() || caller.canSee(snapshot.get().model().ownerId()))) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Served(snapshot.get().model(), resolveIn(snapshot.get(), modelName, version)));
        } catch (ProblemException e) {
            return Optional.empty();
        }
    }

    private ModelVersion resolveIn(Snapshot snapshot, String modelName, Optional<Integer> version) {
        if (version.isPresent()) {
            int wanted = version.get();
            ModelVersion v = null;
            for (ModelVersion x : snapshot.versions()) {
                if (x.version() == wanted) {
                    v = x;
                    break;
                }
            }
            if (v == null) {
                throw versionNotFound(modelName, wanted);
            }
            if (v.state() == VersionState.ARCHIVED) {
                throw new ProblemException(ProblemType.VERSION_NOT_SERVABLE, "version " + wanted + " of model '"
                        + modelName + "' is archived; set its state to active to serve it again");
            }
            if (v.status() == VersionStatus.FAILED) {
                throw failedVersion(v);
            }
            return v;
        }
        // A loop, not a sorted stream: this runs on every call that names no version.
        ModelVersion newestActive = null;
        ModelVersion newestReady = null;
        for (ModelVersion v : snapshot.versions()) {
            if (v.state() != VersionState.ACTIVE) {
                continue;
            }
            if (newestActive == null || v.version() > newestActive.version()) {
                newestActive = v;
            }
            if (v.status() == VersionStatus.READY && (newestReady == null || v.version() > newestReady.version())) {
                newestReady = v;
            }
        }
        if (newestReady != null) {
            return newestReady;
        }
        throw newestActive == null ? new ProblemException(ProblemType.NO_ACTIVE_VERSION, "model '" + modelName
                + "' has no active version; upload one or set a version's state to active") : failedVersion(newestActive);
    }

    /** Every servable version of a model (for protocol metadata), lowest first. */
    public List<ModelVersion> servableVersions(Principal caller, String modelName) {
        return servableSnapshot(caller, modelName).versions().stream()
                .filter(v -> v.state() != VersionState.ARCHIVED).toList();
    }

    /** The model a caller may predict with: theirs, or a public one. Anonymous callers are told to sign in. */
    public Model requireServableModel(Principal caller, String modelName) {
        return servableSnapshot(caller, modelName).model();
    }

    private Snapshot servableSnapshot(Principal caller, String modelName) {
        Optional<Snapshot> snapshot = snapshots.get(modelName, this::readSnapshot)
                .filter(s -> s.model().isPublic() || caller.canSee(s.model().ownerId()));
        if (snapshot.isEmpty() && caller.anonymous()) {
            throw new ProblemException(ProblemType.AUTHENTICATION_REQUIRED, "sign in or send an API key to use model '"
                    + modelName + "' (only public models answer anonymous calls)");
        }
        return snapshot.orElseThrow(() -> modelNotFound(modelName));
    }

    private void audit(Principal caller, String action, String model, Map<String, Object> detail) {
        audit.record(caller.userId(), caller.username(), caller.ip(), action, "model:" + model, true, detail);
    }

    private Optional<Snapshot> readSnapshot(String name) {
        return store.findModel(name).filter(m -> !m.deleted())
                .map(m -> new Snapshot(m, store.listVersions(m.id(), false)));
    }

    private static ProblemException failedVersion(ModelVersion v) {
        return new ProblemException(ProblemType.VERSION_NOT_SERVABLE, "version " + v.version() + " of model '"
                + v.modelName() + "' failed: " + v.statusMessage() + " (upload a fixed version, or set this one's "
                + "state to active to retry it)");
    }

    /** Loads a registered version from its artifact with these resources (the {@code ModelLoader} of the host). */
    public LoadedModel load(ModelVersion version, Resources resources) {
        return runtimeOf(version).load(loadRequest(version, resources));
    }

    /**
     * Readies what loading this version will need (for Python, its requirements' environment,
     * built now if it is not cached). Blocking, possibly for minutes.
     *
     * @return what was done, in words
     */
    public Optional<String> prepare(ModelVersion version, Resources resources) {
        return runtimeOf(version).prepare(loadRequest(version, resources));
    }

    private ModelRuntime runtimeOf(ModelVersion version) {
        return runtimes.named(version.runtime());
    }

    private LoadRequest loadRequest(ModelVersion version, Resources resources) {
        return new LoadRequest(artifacts.localPath(version.artifactKey()), version.format(), version.fileName(),
                version.modelName(), version.label(), version.requirements(), resources);
    }

    private static void requireValidName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw ProblemException.field(ProblemType.INVALID_NAME, "/name", "model names are 1-64 characters: "
                    + "letters, digits, '.', '_' and '-', starting with a letter or digit");
        }
    }

    private static ProblemException modelNotFound(String name) {
        return new ProblemException(ProblemType.MODEL_NOT_FOUND, "there is no model named '" + name + "'");
    }

    private static ProblemException versionNotFound(String name, int version) {
        return new ProblemException(ProblemType.VERSION_NOT_FOUND, "model '" + name + "' has no version " + version);
    }

    private static void deleteQuietly(StagedUpload upload) {
        try {
            Files.deleteIfExists(upload.file());
        } catch (IOException e) {
            log.warn("could not delete the temporary upload file: {}", e.getMessage());
        }
    }
}
