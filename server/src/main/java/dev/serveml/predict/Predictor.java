package dev.serveml.predict;

import dev.serveml.auth.Principal;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.Deployments;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.problem.ProblemException;
import dev.serveml.ratelimit.TokenLimits;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import dev.serveml.inference.CacheStatus;
import dev.serveml.monitor.LoggingRule;
import dev.serveml.monitor.Observation;
import dev.serveml.monitor.PredictionObserver;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.Signature;
import dev.serveml.usage.UsageLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * The one way in to a prediction, whatever the protocol: native and V2 over HTTP today, and
 * gRPC, OpenAI routes, batch jobs and the CLI after them. It resolves the target (a deployment's
 * policy picks the version; a V2 name is a deployment's before a model's) and hands the request
 * to the inference service, which takes the in-memory fast path itself when the request allows
 * it. Callers decode, call {@link #predict}, encode, and run the answer's {@code afterDelivery} once
 * it has reached the client. Never blocks. Thread-safe.
 *
 * <p>Every answer is accounted here, whatever the route: its {@code prompt_tokens} and
 * {@code completion_tokens} outputs (a text model's; other models answer none and cost 0 tokens)
 * are charged to the caller's token limits and counted in the usage log, and a caller whose tokens
 * are spent is refused before the model is called.
 *
 * <p>Every prediction, answered or refused, is told to the {@link PredictionObserver} once it
 * completes, with the inputs as bound and the answer's outputs (the monitoring's one source).
 */
public final class Predictor {
    private static final Logger log = LoggerFactory.getLogger(Predictor.class);
    static final String PROMPT_TOKENS = "prompt_tokens";
    static final String COMPLETION_TOKENS = "completion_tokens";

    private final InferenceService inference;
    private final Deployments deployments;
    private final TokenLimits tokens;
    private final UsageLog usage;
    private final PredictionObserver observer;

    public Predictor(InferenceService inference, Deployments deployments, TokenLimits tokens, UsageLog usage,
                     PredictionObserver observer) {
        this.inference = inference;
        this.deployments = deployments;
        this.tokens = tokens;
        this.usage = usage;
        this.observer = observer;
    }

    /**
     * Where a request for this target goes, resolved now from memory, for a caller that must name
     * the model or deployment before it has the request (what a call is counted under; a
     * deployment that does not exist is refused before the body is read). Never blocks.
     *
     * @throws ProblemException {@code deployment-not-found} (or {@code authentication-required})
     *                          for a {@link Target.Deployment} the caller cannot see
     */
    public Route route(Principal caller, Target target) {
        return switch (target) {
            case Target.Model model -> new Route(model, Optional.empty());
            case Target.Deployment named -> deployed(deployments.require(caller, named.name()));
            case Target.Named named -> deployments.find(caller, named.name()).map(Predictor::deployed)
                    .orElseGet(() -> new Route(new Target.Model(named.name(), Optional.empty()), Optional.empty()));
        };
    }

    private static Route deployed(Deployment d) {
        return new Route(new Target.Deployment(d.name()), Optional.of(d));
    }

    /**
     * Predicts. Never blocks the calling thread; small requests to a model in memory may be bound
     * on it.
     *
     * @return completes with the answer, or exceptionally with a {@code ProblemException}
     */
    public CompletableFuture<Prediction> predict(PredictRequest request) {
        long started = System.nanoTime();
        Route route;
        try {
            route = route(request.caller(), request.target());
        } catch (ProblemException e) {
            observe(request, new Route(request.target(), Optional.empty()), started, null, null, e);
            return CompletableFuture.failedFuture(e);
        }
        Bound bound = new Bound(request.binder());
        PredictRequest observed = request.withBinder(bound);
        return account(observed, route).whenComplete((p, failure) -> observe(request, route, started, bound.inputs, p,
                failure));
    }

    private CompletableFuture<Prediction> account(PredictRequest request, Route route) {
        Principal caller = request.caller();
        if (!tokens.applies(caller)) {
            return call(route, request).thenApply(p -> account(caller, route, p));
        }
        return tokens.admit(caller).thenCompose(admitted -> call(route, request)).thenCompose(p -> {
            long[] spent = spent(p);
            record(caller, route, spent);
            return tokens.charge(caller, spent[0] + spent[1]).handle((v, e) -> {
                if (e != null) {
                    // The answer is given; a charge lost to a limiter failure is logged, not a failed call.
                    log.warn("could not charge {} tokens to API key {}: {}", spent[0] + spent[1], caller.apiKeyId(),
                            e.toString());
                }
                return p;
            });
        });
    }

    /** Tells the observer of a completed call: its answer, or the problem that refused it. Never throws. */
    private void observe(PredictRequest request, Route route, long started, List<Tensor> inputs, Prediction p,
                         Throwable failure) {
        try {
            long latency = System.nanoTime() - started;
            LoggingRule logging = route.deployment().map(d -> d.config().logging()).orElse(LoggingRule.OFF);
            List<Tensor> bound = inputs == null ? List.of() : inputs;
            Observation o;
            if (p != null) {
                var result = p.result();
                o = new Observation(request.requestId(), System.currentTimeMillis(), request.caller(),
                        result.version().modelId(), result.version().modelName(), result.version().version(),
                        p.deployment(), Observation.Role.SERVED, request.lane(), latency, result.cache(), 200,
                        Optional.empty(), bound, result.outputs(), logging);
            } else {
                Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
                ProblemType type = cause instanceof ProblemException pe ? pe.type() : ProblemType.INTERNAL;
                o = new Observation(request.requestId(), System.currentTimeMillis(), request.caller(), 0, route.model(),
                        0, route.deployment().map(Deployment::name), Observation.Role.SERVED, request.lane(), latency,
                        CacheStatus.OFF, type.status(), Optional.of(type.code()), bound, Map.of(), logging);
            }
            observer.observe(o);
        } catch (RuntimeException e) {
            log.warn("could not observe prediction {}: {}", request.requestId(), e.toString());
        }
    }

    /** A binder that keeps what it bound (the last call's, for a request bound again on a retry). */
    private static final class Bound implements Function<Signature, List<Tensor>> {
        private final Function<Signature, List<Tensor>> binder;
        private volatile List<Tensor> inputs;

        Bound(Function<Signature, List<Tensor>> binder) {
            this.binder = binder;
        }

        @Override
        public List<Tensor> apply(Signature signature) {
            List<Tensor> bound = binder.apply(signature);
            inputs = bound;
            return bound;
        }
    }

    private CompletableFuture<Prediction> call(Route route, PredictRequest request) {
        if (route.deployment().isPresent()) {
            return deployments.predict(route.deployment().get(), request.withTarget(route.target()));
        }
        PredictRequest resolved = route.target().equals(request.target()) ? request : request.withTarget(route.target());
        return inference.predict(resolved).thenApply(Prediction::ofModel);
    }

    private Prediction account(Principal caller, Route route, Prediction p) {
        record(caller, route, spent(p));
        return p;
    }

    private void record(Principal caller, Route route, long[] spent) {
        if (caller.userId() > 0) {
            usage.record(caller.userId(), caller.apiKeyId(), route.model(), spent[0], spent[1]);
        }
    }

    /** The prompt and completion tokens an answer took, summed over its rows (0 where it says none). */
    static long[] spent(Prediction p) {
        var outputs = p.result().outputs();
        return new long[]{sum(outputs.get(PROMPT_TOKENS)), sum(outputs.get(COMPLETION_TOKENS))};
    }

    private static long sum(Output o) {
        if (!(o instanceof Tensor t) || t.datatype() != DataType.INT64) {
            return 0;
        }
        ByteBuffer data = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long total = 0;
        while (data.remaining() >= Long.BYTES) {
            total += Math.max(0, data.getLong());
        }
        return total;
    }

    /**
     * A resolved target.
     *
     * @param target     a {@link Target.Model} or {@link Target.Deployment}, never {@link Target.Named}
     * @param deployment the deployment it goes through, as it was when resolved
     */
    public record Route(Target target, Optional<Deployment> deployment) {
        /** The model that will answer: the deployment's, or the one named. */
        public String model() {
            return deployment.map(Deployment::modelName).orElseGet(target::name);
        }
    }
}
