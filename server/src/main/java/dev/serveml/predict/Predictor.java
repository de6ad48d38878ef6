package dev.serveml.predict;

import dev.serveml.auth.Principal;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.Deployments;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.problem.ProblemException;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The one way in to a prediction, whatever the protocol: native and V2 over HTTP today, and
 * gRPC, OpenAI routes, batch jobs and the CLI after them. It resolves the target (a deployment's
 * policy picks the version; a V2 name is a deployment's before a model's) and hands the request
 * to the inference service, which takes the in-memory fast path itself when the request allows
 * it. Callers decode, call {@link #predict}, encode, and run the answer's {@code afterDelivery} once
 * it has reached the client. Never blocks. Thread-safe.
 */
public final class Predictor {
    private final InferenceService inference;
    private final Deployments deployments;

    public Predictor(InferenceService inference, Deployments deployments) {
        this.inference = inference;
        this.deployments = deployments;
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
        Route route;
        try {
            route = route(request.caller(), request.target());
        } catch (ProblemException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (route.deployment().isPresent()) {
            return deployments.predict(route.deployment().get(), request.withTarget(route.target()));
        }
        PredictRequest resolved = route.target().equals(request.target()) ? request : request.withTarget(route.target());
        return inference.predict(resolved).thenApply(Prediction::ofModel);
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
