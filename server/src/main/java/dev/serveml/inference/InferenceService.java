package dev.serveml.inference;

import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import dev.serveml.auth.Principal;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelRegistry;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.TokenSink;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Runs predictions off the event loop: resolves the version, holds its loaded model, binds the
 * inputs to its signature, validates them, and queues them on the version's {@link Batcher}. The
 * model stays held until the answer is in, so it is never unloaded under a queued request.
 * Thread-safe.
 */
public final class InferenceService {
    private final ModelRegistry registry;
    private final ModelHost host;
    private final Executor executor;
    private final Ticker ticker;
    private final Duration defaultTimeout;
    private final Admission admission;
    private final AnswerCache cache;
    private final Meters meters;

    /**
     * @param executor       where versions are resolved and inputs bound (blocking work); never waits for a load
     * @param defaultTimeout deadline of requests that name none
     * @param admission      the last check before a model runs for a caller (per-model rate limits)
     * @param cache          answers identical requests to the same version without running the model
     * @param meters         counts every answer (cached or computed) per model and version
     */
    public InferenceService(ModelRegistry registry, ModelHost host, Executor executor, Ticker ticker,
                            Duration defaultTimeout, Admission admission, AnswerCache cache, Meters meters) {
        this.meters = meters;
        this.cache = cache;
        this.admission = admission;
        this.registry = registry;
        this.host = host;
        this.executor = executor;
        this.ticker = ticker;
        this.defaultTimeout = defaultTimeout;
    }

    /**
     * Predicts with the model the request names ({@link Target.Model}), under the model's cache
     * settings. Never blocks the calling thread. A small request whose model is already in memory
     * is bound and validated here and goes straight to the version's queue (a cache hit completes
     * at once); any other goes through this service's executor.
     *
     * @return completes with the result, or exceptionally with a {@link ProblemException}
     * @throws IllegalArgumentException when the request names a deployment: the {@code Predictor}
     *                                  resolves those
     */
    public CompletableFuture<InferenceResult> predict(PredictRequest request) {
        return predict(request, CacheRule.MODEL);
    }

    /** {@link #predict(PredictRequest)} under a deployment's cache rule, for the version its policy chose. */
    public CompletableFuture<InferenceResult> predict(PredictRequest request, CacheRule rule) {
        Target.Model target = modelOf(request);
        if (request.bindsInline()) {
            Optional<CompletableFuture<InferenceResult>> inMemory = inMemory(request, target, rule);
            if (inMemory.isPresent()) {
                return inMemory.get();
            }
        }
        return start(request, target, admission, rule);
    }

    /**
     * {@link #predict(PredictRequest)} for a copy of a call already admitted (a deployment's shadow
     * traffic): it takes no rate-limit token or quota, and never runs on the calling thread.
     */
    public CompletableFuture<InferenceResult> predictCopy(PredictRequest request) {
        return start(request, modelOf(request), Admission.ALWAYS, CacheRule.MODEL);
    }

    private static Target.Model modelOf(PredictRequest request) {
        if (request.target() instanceof Target.Model model) {
            return model;
        }
        throw new IllegalArgumentException("the inference service predicts with models; resolve "
                + request.target() + " first");
    }

    private CompletableFuture<InferenceResult> start(PredictRequest request, Target.Model target, Admission admission,
                                                     CacheRule rule) {
        long deadline = deadline(request);
        Principal caller = request.caller();
        return CompletableFuture.supplyAsync(() -> {
            Model m = registry.requireServableModel(caller, target.name());
            admission.admit(caller, m);
            return new Resolved(m, registry.resolveServable(caller, target.name(), target.version()));
        }, executor).thenCompose(resolved -> {
            // A version still loading is waited for as a future, never on this pool's threads: they
            // run every model's calls. Binding then comes back to this pool, off the load's thread.
            CompletableFuture<ModelHost.Lease> leased = host.acquireAsync(resolved.version(), deadline);
            Function<ModelHost.Lease, Bound> bind = lease -> bind(request, resolved, lease, rule);
            return leased.isDone() ? leased.thenApply(bind) : leased.thenApplyAsync(bind, executor);
        }).thenCompose(bound -> answer(bound, request.outputs(), deadline, fresh(request)));
    }

    /** Whether the model must run: asked for, or streamed (a cached answer has no tokens to stream). */
    private static boolean fresh(PredictRequest request) {
        return request.fresh() || request.streams();
    }

    /** Refuses a streamed request for a model that answers at once. */
    private static void checkStreams(PredictRequest request, ModelHost.Lease lease) {
        if (request.streams() && lease.model().scheduled().isEmpty()) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/stream", "this model answers all at once; "
                    + "only text-generation models stream their tokens: leave stream out");
        }
    }

    private long deadline(PredictRequest request) {
        return ticker.nanoTime() + request.timeout().orElse(defaultTimeout).toNanos();
    }

    private Bound bind(PredictRequest request, Resolved resolved, ModelHost.Lease lease, CacheRule rule) {
        try {
            Signature signature = lease.model().signature();
            List<Tensor> inputs = request.binder().apply(signature);
            validate(signature, inputs, request.outputs());
            lease.model().check(inputs, request.parameters());
            checkStreams(request, lease);
            ModelVersion v = resolved.version();
            CacheSlot slot = request.lane() == PredictRequest.Lane.BATCH ? null : cache.slot(request.caller(),
                    resolved.model(), v, lease.answerVariant(), inputs, request.outputs(), request.parameters(), rule)
                    .orElse(null);
            return new Bound(v, lease, inputs, request.parameters(), request.sink(), slot, request.lane());
        } catch (RuntimeException | Error e) {
            lease.release();
            throw e;
        }
    }

    private record Resolved(Model model, ModelVersion version) {
    }

    /**
     * The call without leaving the calling thread until the model runs, when everything it needs is
     * already in memory: the model's registry snapshot, no per-model admission check, the version
     * loaded. A cache hit then completes at once, on the caller's thread; a miss goes straight to
     * the version's queue. Empty when anything is not in memory or the request is not valid: the
     * slower path then runs it and gives the reasons. Never blocks; binding runs here, so it is only
     * for small requests.
     */
    private Optional<CompletableFuture<InferenceResult>> inMemory(PredictRequest request, Target.Model target,
                                                                  CacheRule rule) {
        Principal caller = request.caller();
        Set<String> outputs = request.outputs();
        boolean fresh = fresh(request);
        ModelRegistry.Served served = registry.findServableInMemory(caller, target.name(), target.version())
                .orElse(null);
        if (served == null || admission.checks(served.model())) {
            return Optional.empty();
        }
        long deadline = deadline(request);
        ModelVersion v = served.version();
        List<Tensor> inputs;
        CacheSlot slot;
        try {
            inputs = request.binder().apply(v.signature());
            validate(v.signature(), inputs, outputs);
            slot = request.lane() == PredictRequest.Lane.BATCH ? null : cache.slot(caller, served.model(), v,
                    host.servingOf(v.id()).resources().answerVariant(), inputs, outputs, request.parameters(), rule)
                    .orElse(null);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        // A hit is answered before the model checks the parameters: only an answer the model gave
        // for exactly these inputs and parameters is stored, so they were accepted then.
        if (slot != null && !fresh) {
            Optional<Map<String, Output>> hit = cache.findLocal(slot);
            if (hit.isPresent()) {
                return Optional.of(CompletableFuture.completedFuture(
                        counted(new InferenceResult(v, hit.get(), 0, CacheStatus.HIT))));
            }
        }
        ModelHost.Lease lease = host.tryAcquireLoaded(v).orElse(null);
        if (lease == null) {
            return Optional.empty();
        }
        if (!lease.signatureRegistered()
                || (slot != null && !slot.variant().equals(lease.answerVariant()))) {
            // Bound against the registry's copy, or keyed for settings this copy was not loaded with
            // (a reload is under way): the slower path binds and keys against the copy it holds.
            lease.release();
            return Optional.empty();
        }
        try {
            lease.model().check(inputs, request.parameters());
            checkStreams(request, lease);
        } catch (RuntimeException e) {
            lease.release();
            return Optional.empty(); // the slower path checks again and gives the reason
        }
        return Optional.of(answer(new Bound(v, lease, inputs, request.parameters(), request.sink(), slot,
                request.lane()), outputs,
                deadline, fresh));
    }

    /** After binding: the cache (unless off or bypassed), else the model; releases the lease either way. */
    private CompletableFuture<InferenceResult> answer(Bound bound, Set<String> outputs, long deadline, boolean fresh) {
        if (bound.slot == null) {
            return run(bound, outputs, deadline, CacheStatus.OFF);
        }
        if (fresh) {
            cache.bypassed(bound.slot);
            return run(bound, outputs, deadline, CacheStatus.BYPASS);
        }
        return cache.find(bound.slot).exceptionally(e -> Optional.empty()).thenCompose(found -> {
            if (found.isPresent()) {
                bound.lease.release();
                return CompletableFuture.completedFuture(
                        counted(new InferenceResult(bound.version, found.get(), 0, CacheStatus.HIT)));
            }
            return run(bound, outputs, deadline, CacheStatus.MISS);
        });
    }

    private CompletableFuture<InferenceResult> run(Bound bound, Set<String> outputs, long deadline, CacheStatus status) {
        return bound.lease.batcher().submitTimed(bound.inputs, outputs, bound.parameters, bound.sink, deadline,
                        bound.lane)
                .whenComplete((done, failure) -> bound.lease.release())
                .thenApply(done -> {
                    // a streamed answer is not stored: its client may have left and cut it short
                    if (bound.slot != null && bound.sink == TokenSink.NONE) {
                        cache.store(bound.slot, done.outputs());
                    }
                    return counted(new InferenceResult(bound.version, done.outputs(), done.runNanos(), status));
                });
    }

    private InferenceResult counted(InferenceResult result) {
        meters.prediction(result.version().modelName(), result.version().version(), result.cache().label());
        return result;
    }

    /** @param slot where the answer is cached; null when it is not */
    private record Bound(ModelVersion version, ModelHost.Lease lease, List<Tensor> inputs, Parameters parameters,
                         TokenSink sink, CacheSlot slot, PredictRequest.Lane lane) {
    }

    /** Checks names, element types and shapes against the signature. */
    static void validate(Signature signature, List<Tensor> inputs, Set<String> outputs) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = inputs.get(i);
            String pointer = "/inputs/" + i;
            TensorSpec spec = signature.findInput(t.name()).orElseThrow(() -> ProblemException.field(
                    ProblemType.UNKNOWN_INPUT, pointer, "the model has no input named '" + t.name()
                            + "'; its inputs are " + names(signature.inputs())));
            if (!seen.add(t.name())) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, pointer, "input '" + t.name()
                        + "' is given more than once");
            }
            if (t.datatype() != spec.datatype()) {
                throw ProblemException.field(ProblemType.DATATYPE_MISMATCH, pointer, "input '" + t.name()
                        + "' must be " + spec.datatype() + ", got " + t.datatype());
            }
            checkShape(spec, t, pointer);
        }
        List<String> missing = new ArrayList<>();
        for (TensorSpec spec : signature.inputs()) {
            if (!seen.contains(spec.name())) {
                missing.add(spec.name());
            }
        }
        if (!missing.isEmpty()) {
            throw ProblemException.field(ProblemType.MISSING_INPUT, "/inputs", "missing input(s) "
                    + String.join(", ", missing) + "; the model needs " + names(signature.inputs()));
        }
        for (String out : outputs) {
            if (signature.findOutput(out).isEmpty()) {
                throw ProblemException.field(ProblemType.UNKNOWN_OUTPUT, "/outputs", "the model has no output named '"
                        + out + "'; its outputs are " + names(signature.outputs()));
            }
        }
    }

    private static void checkShape(TensorSpec spec, Tensor t, String pointer) {
        long[] shape = t.shape();
        List<Long> expected = spec.shape();
        boolean ok = shape.length == expected.size();
        for (int d = 0; ok && d < shape.length; d++) {
            ok = expected.get(d) < 0 || expected.get(d) == shape[d];
        }
        if (!ok) {
            throw ProblemException.field(ProblemType.SHAPE_MISMATCH, pointer, "input '" + t.name() + "' has shape "
                    + Arrays.toString(shape) + " but the model expects " + shapeText(expected));
        }
    }

    static String shapeText(List<Long> shape) {
        return shape.stream().map(d -> d < 0 ? "-1" : d.toString()).collect(Collectors.joining(", ", "[", "]"))
                + (shape.contains(-1L) ? " (-1: any size)" : "");
    }

    private static String names(List<TensorSpec> specs) {
        return specs.stream().map(s -> s.name() + " " + s.datatype() + shapeText(s.shape()))
                .collect(Collectors.joining(", "));
    }
}
