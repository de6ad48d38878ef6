package dev.serveml.deployments;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.inference.InferenceResult;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.ModelHost;
import dev.serveml.inference.Signature;
import dev.serveml.inference.Tensor;
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
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Deployments: create, read, change, roll back, promote and delete them, watch their events, and
 * call them. Writes and event reads are blocking (database): call them off the event loop. Reads
 * of a deployment ({@link #find}, {@link #require}) and calls are answered from memory: the live
 * deployments are read once at start and kept in step by every write made here (other replicas'
 * writes will need change notifications, not built yet). Thread-safe.
 */
public final class Deployments {
    private static final Logger log = LoggerFactory.getLogger(Deployments.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Duration DRAIN_LIMIT = Duration.ofSeconds(30);
    /** Acts for the server itself when it resumes rollouts at start-up. */
    private static final Principal SYSTEM = new Principal(-1, "serveml", Role.ADMIN, Set.of(Scope.ADMIN), 0,
            "local", 0, 0);

    /** One version of a deployment: its role (primary or shadow), weight and whether it is loaded. */
    public record Member(int version, String role, int weight, boolean loaded) {
    }

    private final DeploymentStore store;
    private final ModelRegistry registry;
    private final ModelHost host;
    private final DeploymentEvents events;
    private final Rollout rollout;
    private final Traffic traffic;
    private final ConcurrentHashMap<String, Deployment> live = new ConcurrentHashMap<>();

    /** Reads the live deployments (blocking). */
    public Deployments(DeploymentStore store, ModelRegistry registry, ModelHost host, InferenceService inference,
                       Executor rollouts, Meters meters) {
        this.store = store;
        this.registry = registry;
        this.host = host;
        this.events = new DeploymentEvents(store, e -> live.replaceAll((name, d) -> d.id() == e.deploymentId()
                ? d.withStatus(e.status(), e.message(), e.at()) : d));
        this.rollout = new Rollout(host, events, rollouts);
        this.traffic = new Traffic(inference, meters);
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

    public Deployment create(Principal caller, JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "send {\"name\": \"...\", \"model\": \"...\", "
                    + "\"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": {...}}");
        }
        JsonNode nameNode = body.get("name");
        String name = nameNode == null || !nameNode.isTextual() ? null : nameNode.textValue();
        if (name == null || !NAME.matcher(name).matches()) {
            throw ProblemException.field(ProblemType.INVALID_NAME, "/name", "deployment names are 1-64 characters: "
                    + "letters, digits, '.', '_' and '-', starting with a letter or digit");
        }
        JsonNode modelNode = body.get("model");
        if (modelNode == null || !modelNode.isTextual()) {
            throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError("/model",
                    "model must name the model to deploy")));
        }
        Model model = registry.requireModel(caller, modelNode.textValue());
        TrafficPolicy policy = TrafficPolicy.parse(body.get("policy"), "/policy");
        DeploymentConfig config = DeploymentConfig.DEFAULTS.merge(body.get("config"), "/config");
        List<ModelVersion> versions = deployable(caller, model.name(), policy);
        if (live.containsKey(name)) {
            throw nameTaken(name);
        }
        Deployment d = store.insert(name, caller.anonymous() ? null : caller.userId(), model.id(), policy, config);
        live.put(name, d);
        events.record(d.id(), DeploymentStatus.PENDING, "created", 0, "created: model '" + model.name() + "', "
                + Rollout.describe(policy));
        rollout.start(d, versions);
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

    /** Changes the policy and/or config; the old policy becomes the one rollback returns to. */
    public Deployment update(Principal caller, String name, JsonNode body) {
        Deployment d = require(caller, name);
        if (body == null || !body.isObject() || (!body.has("policy") && !body.has("config"))) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "send {\"policy\": {...}} and/or {\"config\": {...}}");
        }
        TrafficPolicy policy = body.has("policy") ? TrafficPolicy.parse(body.get("policy"), "/policy") : d.policy();
        DeploymentConfig config = d.config().merge(body.get("config"), "/config");
        Optional<TrafficPolicy> previous = policy.equals(d.policy()) ? d.previousPolicy() : Optional.of(d.policy());
        return change(caller, d, policy, previous, config, "updated", "updated");
    }

    /** Goes back to the previous policy (and makes the current one the previous, so rollback undoes itself). */
    public Deployment rollback(Principal caller, String name) {
        Deployment d = require(caller, name);
        TrafficPolicy previous = d.previousPolicy().orElseThrow(() -> new ProblemException(
                ProblemType.NOTHING_TO_ROLL_BACK, "deployment '" + name + "' has had only one traffic policy"));
        return change(caller, d, previous, Optional.of(d.policy()), d.config(), "rollback", "rolled back");
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
        return change(caller, d, promoted, Optional.of(p), d.config(), "promoted", "promoted v" + target);
    }

    private Deployment change(Principal caller, Deployment d, TrafficPolicy policy, Optional<TrafficPolicy> previous,
                              DeploymentConfig config, String step, String what) {
        List<ModelVersion> versions = deployable(caller, d.modelName(), policy);
        Deployment updated = store.update(d.id(), policy, previous, config);
        live.put(updated.name(), updated);
        events.record(d.id(), DeploymentStatus.PENDING, step, 0,
                what + ": " + Rollout.describe(policy));
        rollout.start(updated, versions);
        log.info("deployment {} {} by {}: {}", d.name(), what, caller.username(), Rollout.describe(policy));
        return updated;
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
        log.info("deployment {} deleted by {}", name, caller.username());
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
            out.add(new Member(s.version(), "primary", s.weight(), loaded(caller, d, s.version())));
        }
        d.policy().shadow().ifPresent(v -> out.add(new Member(v, "shadow", 0, loaded(caller, d, v))));
        return out;
    }

    private boolean loaded(Principal caller, Deployment d, int version) {
        try {
            return host.isLoaded(registry.requireVersion(caller, d.modelName(), version).id());
        } catch (ProblemException e) {
            return false;
        }
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
     * Calls a deployment: the policy picks the version (by the sticky header's value when it has
     * one). Never blocks. Run {@link #shadow} once the client has the answer.
     *
     * @param headers the request's headers by name
     */
    public CompletableFuture<InferenceResult> infer(Principal caller, Deployment d, UnaryOperator<String> headers,
                                                    Function<Signature, List<Tensor>> binder, Set<String> outputs,
                                                    Optional<Duration> timeout) {
        return traffic.call(caller, d, headers, binder, outputs, timeout);
    }

    /** Sends a copy of an answered call to the deployment's shadow version, if any; never fails. */
    public void shadow(Principal caller, Deployment d, InferenceResult primary,
                       Function<Signature, List<Tensor>> binder, Set<String> outputs) {
        try {
            traffic.shadow(caller, d, primary, binder, outputs);
        } catch (RuntimeException e) {
            log.warn("shadow call of deployment {} not started: {}", d.name(), e.toString());
        }
    }

    static ProblemException notFound(String name) {
        return new ProblemException(ProblemType.DEPLOYMENT_NOT_FOUND, "there is no deployment named '" + name + "'");
    }

    private static ProblemException nameTaken(String name) {
        return ProblemException.field(ProblemType.NAME_TAKEN, "/name", "a deployment named '" + name
                + "' already exists; choose another name");
    }
}
