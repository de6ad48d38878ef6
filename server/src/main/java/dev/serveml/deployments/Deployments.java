package dev.serveml.deployments;

import dev.serveml.monitor.PredictionObserver;

import dev.serveml.audit.AuditLog;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.ModelHost;
import dev.serveml.inference.Serving;
import dev.serveml.inference.WarmUp;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.VersionState;
import dev.serveml.registry.VersionStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Deployments: create, read, change, roll back, promote and delete them, watch their events, and
 * call them. Writes and event reads are blocking (database): call them off the event loop. Reads
 * of a deployment ({@link #find}, {@link #require}) and calls are answered from memory: the live
 * deployments are read once at start and kept in step by every write made here (other replicas'
 * writes will need change notifications, not built yet). Thread-safe.
 */
public final class Deployments {
    private static final Logger log = LoggerFactory.getLogger(Deployments.class);
    private static final Duration DRAIN_LIMIT = Duration.ofSeconds(30);
    /** Acts for the server itself when it resumes rollouts at start-up. */
    private static final Principal SYSTEM = new Principal(-1, "serveml", Role.ADMIN, Set.of(Scope.ADMIN), 0,
            "local", 0, 0);

    /**
     * One version of a deployment: its role (primary or shadow), weight, whether it is loaded, and
     * if so how many calls it runs at once (null when not loaded).
     */
    public record Member(int version, String role, int weight, boolean loaded, Integer instances) {
    }

    private final DeploymentStore store;
    private final ModelRegistry registry;
    private final ModelHost host;
    private final DeploymentEvents events;
    private final Rollout rollout;
    private final Traffic traffic;
    private final AuditLog audit;
    private final DeploymentConfig defaults;
    private final ConcurrentHashMap<String, Deployment> live = new ConcurrentHashMap<>();

    /**
     * Reads the live deployments (blocking).
     *
     * @param timeout deadline of calls to deployments whose config names none
     */
    public Deployments(DeploymentStore store, ModelRegistry registry, ModelHost host, InferenceService inference,
                       Executor rollouts, Meters meters, AuditLog audit, Duration timeout,
                       PredictionObserver shadowObserver) {
        this.store = store;
        this.registry = registry;
        this.host = host;
        this.audit = audit;
        this.defaults = DeploymentConfig.defaults(host.defaults(), timeout);
        this.events = new DeploymentEvents(store, e -> live.replaceAll((name, d) -> d.id() == e.deploymentId()
                ? d.withStatus(e.status(), e.message(), e.at()) : d));
        // A failed deployment stops imposing its settings (a bad warm-up sample, say) on its versions.
        this.rollout = new Rollout(host, registry::prepare, events, rollouts,
                d -> release(d, List.copyOf(d.policy().allVersions())));
        this.traffic = new Traffic(inference, meters, shadowObserver, d -> {
            Deployment now = live.get(d.name());
            return now != null && now.id() == d.id();
        });
        store.list().forEach(d -> live.put(d.name(), d));
    }

    /** Loads every live deployment's versions again, as after a restart; returns at once. Blocking. */
    public void resume() {
        for (Deployment d : List.copyOf(live.values())) {
            try {
                List<ModelVersion> versions = deployable(SYSTEM, d.modelName(), d.policy());
                events.record(d.id(), DeploymentStatus.PENDING, "restarted", 0, "the server started; loading again");
                rollout.start(d, versions);
            } catch (ProblemException e) {
                events.record(d.id(), DeploymentStatus.FAILED, "failed", 0, e.detail());
            }
        }
    }

    /**
     * Creates a deployment and starts its rollout. Checks in this order, answering the first
     * fault: the name, the model (found and the caller's), the policy, the config, the versions,
     * the warm-up sample, the name being free. Blocking.
     */
    public Deployment create(Principal caller, DeploymentRequest request) {
        String name = request.name().filter(n -> ModelRegistry.NAME.matcher(n).matches()).orElseThrow(() ->
                ProblemException.field(ProblemType.INVALID_NAME, "/name", "deployment names are 1-64 characters: "
                        + "letters, digits, '.', '_' and '-', starting with a letter or digit"));
        String modelName = request.model().orElseThrow(() -> TrafficPolicy.invalid(List.of(
                new ProblemException.FieldError("/model", "model must name the model to deploy"))));
        Model model = registry.requireModel(caller, modelName);
        TrafficPolicy policy = request.policy().get();
        DeploymentConfig config = request.config().apply(defaults);
        List<ModelVersion> versions = deployable(caller, model.name(), policy);
        checkWarmUp(config, versions);
        if (live.containsKey(name)) {
            throw nameTaken(name);
        }
        Deployment d = store.insert(name, caller.anonymous() ? null : caller.userId(), model.id(), policy, config);
        live.put(name, d);
        events.record(d.id(), DeploymentStatus.PENDING, "created", 0, "created: model '" + model.name() + "', "
                + Rollout.describe(policy) + shared(d, versions));
        rollout.start(d, versions);
        audit(caller, "deployment.created", d, Rollout.describe(policy));
        log.info("deployment {} created by {}: {} {}", name, caller.username(), model.name(), Rollout.describe(policy));
        return d;
    }

    /** The deployments the caller may see, by name. */
    public List<Deployment> list(Principal caller) {
        return live.values().stream().filter(d -> caller.canSee(d.ownerId()))
                .sorted(Comparator.comparing(Deployment::name)).toList();
    }

    /** A deployment the caller may see. Not blocking. */
    public Optional<Deployment> find(Principal caller, String name) {
        return Optional.ofNullable(live.get(name)).filter(d -> caller.canSee(d.ownerId()));
    }

    /** A deployment the caller may see, or {@code deployment-not-found} (anonymous callers are told to sign in). */
    public Deployment require(Principal caller, String name) {
        if (caller.anonymous() && live.containsKey(name)) {
            throw new ProblemException(ProblemType.AUTHENTICATION_REQUIRED, "sign in or send an API key to call "
                    + "deployment '" + name + "'");
        }
        return find(caller, name).orElseThrow(() -> notFound(name));
    }

    /**
     * Changes the policy and/or config; the old policy becomes the one rollback returns to. The
     * deployment is looked up before the change is judged, the policy before the config. Blocking.
     */
    public Deployment update(Principal caller, String name, DeploymentChange change) {
        Deployment d = require(caller, name);
        TrafficPolicy policy = change.policy().apply(d.policy());
        DeploymentConfig config = change.config().apply(d.config());
        Optional<TrafficPolicy> previous = policy.equals(d.policy()) ? d.previousPolicy() : Optional.of(d.policy());
        return change(caller, d, policy, previous, config, "updated", "updated", "deployment.updated");
    }

    /** Goes back to the previous policy (and makes the current one the previous, so rollback undoes itself). */
    public Deployment rollback(Principal caller, String name) {
        Deployment d = require(caller, name);
        TrafficPolicy previous = d.previousPolicy().orElseThrow(() -> new ProblemException(
                ProblemType.NOTHING_TO_ROLL_BACK, "deployment '" + name + "' has had only one traffic policy"));
        return change(caller, d, previous, Optional.of(d.policy()), d.config(), "rollback", "rolled back",
                "deployment.rolled_back");
    }

    /**
     * Makes one version the 100% primary: the one named, or else the shadow, or else the canary
     * (the primary with the smallest weight; the newest of equals).
     */
    public Deployment promote(Principal caller, String name, Optional<Integer> version) {
        Deployment d = require(caller, name);
        TrafficPolicy p = d.policy();
        int target;
        if (version.isPresent()) {
            target = version.get();
            if (!p.allVersions().contains(target)) {
                throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError("/version", "version " + target
                        + " is not in deployment '" + name + "' (" + Rollout.describe(p) + ")")));
            }
        } else if (p.shadow().isPresent()) {
            target = p.shadow().get();
        } else if (p.versions().size() > 1) {
            target = p.versions().stream().min(Comparator.comparingInt(TrafficPolicy.Split::weight)
                    .thenComparing(Comparator.comparingInt(TrafficPolicy.Split::version).reversed())).orElseThrow().version();
        } else {
            throw new ProblemException(ProblemType.NOTHING_TO_PROMOTE, "deployment '" + name + "' serves only v"
                    + p.versions().get(0).version() + " and has no shadow");
        }
        TrafficPolicy promoted = p.promoted(target);
        if (promoted.equals(p)) {
            throw new ProblemException(ProblemType.NOTHING_TO_PROMOTE, "v" + target + " already takes all traffic");
        }
        return change(caller, d, promoted, Optional.of(p), d.config(), "promoted", "promoted v" + target,
                "deployment.promoted");
    }

    private Deployment change(Principal caller, Deployment d, TrafficPolicy policy, Optional<TrafficPolicy> previous,
                              DeploymentConfig config, String step, String what, String action) {
        List<ModelVersion> versions = deployable(caller, d.modelName(), policy);
        checkWarmUp(config, versions);
        Deployment updated = store.update(d.id(), policy, previous, config);
        live.put(updated.name(), updated);
        events.record(d.id(), DeploymentStatus.PENDING, step, 0,
                what + ": " + Rollout.describe(policy) + shared(updated, versions));
        rollout.start(updated, versions);
        List<Integer> kept = policy.allVersions();
        release(d, d.policy().allVersions().stream().filter(v -> !kept.contains(v)).toList());
        log.info("deployment {} {} by {}: {}", d.name(), what, caller.username(), Rollout.describe(policy));
        audit(caller, action, updated, Rollout.describe(policy) + (config.equals(d.config()) ? ""
                : "; config " + config.toJson()));
        return updated;
    }

    /**
     * Versions a deployment no longer serves go back to the settings of another deployment that
     * serves them, or to the server's defaults; one loaded with other resources is unloaded, to
     * load again with the right ones when next called.
     */
    private void release(Deployment from, List<Integer> versions) {
        for (int number : versions) {
            Optional<ModelVersion> v = findVersion(from.modelName(), number);
            if (v.isEmpty()) {
                continue;
            }
            Optional<Serving> other = othersServing(from, number).max(Comparator.comparing(Deployment::updatedAt))
                    .map(d -> d.config().serving());
            if (host.configure(v.get().id(), other) == ModelHost.Change.RELOAD_NEEDED) {
                host.unload(v.get().id());
            }
        }
    }

    /** A warm-up sample that cannot fit a version's signature is refused before anything changes. */
    private static void checkWarmUp(DeploymentConfig config, List<ModelVersion> versions) {
        if (config.warmUp().isEmpty()) {
            return;
        }
        for (ModelVersion v : versions) {
            try {
                config.warmUp().get().bind(v.signature()); // kept: the version's loads reuse it
            } catch (ProblemException e) {
                throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError("/config/warmup",
                        "the warm-up sample does not fit " + v.label() + ": " + e.detail())));
            }
        }
    }

    /** Says which versions other deployments serve too: the settings deployed last apply to a shared version. */
    private String shared(Deployment d, List<ModelVersion> versions) {
        List<String> notes = new ArrayList<>();
        for (ModelVersion v : versions) {
            othersServing(d, v.version()).filter(o -> !o.config().equals(d.config()))
                    .forEach(o -> notes.add("v" + v.version() + " is also served by deployment '" + o.name() + "'"));
        }
        return notes.isEmpty() ? "" : "; " + String.join(", ", notes) + " with another config: the config "
                + "deployed last applies to a shared version";
    }

    /** The live deployments besides {@code d} whose policy sends calls (or shadow copies) to this version of its model. */
    private Stream<Deployment> othersServing(Deployment d, int version) {
        return live.values().stream().filter(o -> o.id() != d.id() && o.modelName().equals(d.modelName())
                && o.policy().allVersions().contains(version));
    }

    private Optional<ModelVersion> findVersion(String model, int number) {
        try {
            return Optional.of(registry.requireVersion(SYSTEM, model, number));
        } catch (ProblemException e) {
            return Optional.empty();
        }
    }

    private void audit(Principal caller, String action, Deployment d, String detail) {
        audit.record(caller.userId(), caller.username(), caller.ip(), action, "deployment:" + d.name(), true,
                Map.of("model", d.modelName(), "detail", detail));
    }

    /** Refuses new calls, waits for the ones in flight (up to 30 s), then deletes. Blocking. */
    public Deployment delete(Principal caller, String name) {
        Deployment d = require(caller, name);
        live.remove(name, d);
        int left = traffic.drain(d.id(), DRAIN_LIMIT);
        if (left > 0) {
            log.warn("deployment {} deleted with {} call(s) still running after {}", name, left, DRAIN_LIMIT);
        }
        rollout.stop(d.id());
        store.markDeleted(d.id());
        release(d, List.copyOf(d.policy().allVersions()));
        log.info("deployment {} deleted by {}", name, caller.username());
        audit(caller, "deployment.deleted", d, Rollout.describe(d.policy()));
        return d;
    }

    /** The versions a policy sends calls to, each deployable, or the problem naming the field that is not. */
    private List<ModelVersion> deployable(Principal caller, String model, TrafficPolicy policy) {
        List<ModelVersion> out = new ArrayList<>();
        for (int i = 0; i < policy.versions().size(); i++) {
            out.add(deployable(caller, model, policy.versions().get(i).version(), "/policy/versions/" + i + "/version"));
        }
        policy.shadow().ifPresent(v -> out.add(deployable(caller, model, v, "/policy/shadow")));
        return out;
    }

    private ModelVersion deployable(Principal caller, String model, int version, String pointer) {
        ModelVersion v = registry.requireVersion(caller, model, version);
        if (v.state() == VersionState.ARCHIVED) {
            throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError(pointer, "version " + version
                    + " of model '" + model + "' is archived; set its state to active to deploy it")));
        }
        if (v.status() == VersionStatus.FAILED) {
            throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError(pointer, "version " + version
                    + " of model '" + model + "' failed and cannot be deployed: " + v.statusMessage())));
        }
        return v;
    }

    /** The versions of a deployment with their roles and whether they are in memory. Blocking. */
    public List<Member> members(Principal caller, Deployment d) {
        List<Member> out = new ArrayList<>();
        for (TrafficPolicy.Split s : d.policy().versions()) {
            out.add(member(caller, d, s.version(), "primary", s.weight()));
        }
        d.policy().shadow().ifPresent(v -> out.add(member(caller, d, v, "shadow", 0)));
        return out;
    }

    private Member member(Principal caller, Deployment d, int version, String role, int weight) {
        OptionalInt instances;
        try {
            instances = host.instances(registry.requireVersion(caller, d.modelName(), version).id());
        } catch (ProblemException e) {
            instances = OptionalInt.empty();
        }
        return new Member(version, role, weight, instances.isPresent(),
                instances.isPresent() ? instances.getAsInt() : null);
    }

    public Optional<ShadowStats.Reading> shadowReading(Deployment d) {
        return traffic.shadowReading(d);
    }

    /** The deployment's events so far, oldest first. Blocking. */
    public List<DeploymentEvent> events(Deployment d) {
        return events.past(d.id());
    }

    /** See {@link DeploymentEvents#watch}; run the returned handle to stop. */
    public Runnable watch(Deployment d, Consumer<DeploymentEvent> watcher) {
        return events.watch(d.id(), watcher);
    }

    /**
     * Calls a deployment with a request the {@code Predictor} resolved to it: the policy picks the
     * version (by the sticky header's value when it has one), the deployment's deadline and cache
     * rule apply. Never blocks. Run the answer's {@code afterDelivery} once the client has it: it sends
     * the shadow copy.
     */
    public CompletableFuture<Prediction> predict(Deployment d, PredictRequest request) {
        return traffic.call(d, request);
    }

    static ProblemException notFound(String name) {
        return new ProblemException(ProblemType.DEPLOYMENT_NOT_FOUND, "there is no deployment named '" + name + "'");
    }

    private static ProblemException nameTaken(String name) {
        return ProblemException.field(ProblemType.NAME_TAKEN, "/name", "a deployment named '" + name
                + "' already exists; choose another name");
    }
}
