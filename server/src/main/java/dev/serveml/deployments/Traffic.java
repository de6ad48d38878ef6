package dev.serveml.deployments;

import dev.serveml.inference.CacheStatus;
import dev.serveml.monitor.Observation;
import dev.serveml.monitor.PredictionObserver;

import dev.serveml.inference.InferenceResult;
import dev.serveml.inference.InferenceService;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * Sends a deployment's calls to versions by its policy, copies them to its shadow, and counts
 * what is in flight so that a deletion can wait for it. Never blocks the calling thread except
 * in {@link #drain}. Thread-safe.
 */
final class Traffic {
    private static final Logger log = LoggerFactory.getLogger(Traffic.class);
    /** Shadow copies running at once, past which copies are skipped rather than queued behind clients. */
    private static final int MAX_SHADOWS = 64;

    private final InferenceService inference;
    private final Meters meters;
    /** Told of each shadow copy's answer (the client's answers are told by the Predictor). */
    private final PredictionObserver observer;
    /** The live deployments' calls: an entry is dropped when its deployment's drain ends. */
    private final Map<Long, InFlight> inFlight = new ConcurrentHashMap<>();
    /** Whether a deployment (by id) is still live: a call holding a deleted one is refused after its drain. */
    private final Predicate<Deployment> live;
    private final Map<Long, ShadowStats> shadows = new ConcurrentHashMap<>();
    private final Semaphore shadowPermits = new Semaphore(MAX_SHADOWS);

    Traffic(InferenceService inference, Meters meters, PredictionObserver observer, Predicate<Deployment> live) {
        this.observer = observer;
        this.inference = inference;
        this.meters = meters;
        this.live = live;
    }

    /**
     * Calls a deployment: the policy picks the version (by the sticky header's value when it has
     * one), the deployment's deadline and cache rule apply. The answer's {@code afterDelivery} starts
     * the shadow copy. Never blocks.
     */
    CompletableFuture<Prediction> call(Deployment d, PredictRequest request) {
        InFlight count = enter(d);
        if (count == null) {
            return CompletableFuture.failedFuture(Deployments.notFound(d.name()));
        }
        String sticky = d.policy().stickyHeader().map(request.metadata()).orElse(null);
        int version = d.policy().choose(sticky, ThreadLocalRandom.current().nextInt(100));
        meters.deploymentRequest(d.name(), version);
        PredictRequest routed = request.withTarget(new Target.Model(d.modelName(), Optional.of(version)))
                .withTimeout(request.timeout().or(() -> Optional.of(d.config().timeout())));
        CompletableFuture<InferenceResult> answer;
        try {
            answer = inference.predict(routed, d.config().cache());
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        return answer.whenComplete((result, failure) -> {
                    count.leave();
                    Throwable cause = failure instanceof CompletionException c && c.getCause() != null
                            ? c.getCause() : failure;
                    if (cause instanceof ProblemException p && p.type() == ProblemType.QUEUE_FULL) {
                        meters.deploymentRejected(d.name(), version, "queue_full");
                    } else if (cause instanceof ProblemException p && p.type() == ProblemType.INFERENCE_TIMEOUT) {
                        meters.deploymentRejected(d.name(), version, "timeout");
                    }
                })
                .thenApply(result -> new Prediction(result, Optional.of(d.name()),
                        Optional.of(() -> shadow(d, result, request))));
    }

    /**
     * Runs a copy of an answered call on the deployment's shadow version, if it has one, and
     * records its latency and whether it agreed. Its failures are counted and logged, never thrown.
     */
    private void shadow(Deployment d, InferenceResult primary, PredictRequest request) {
        try {
            startShadow(d, primary, request);
        } catch (RuntimeException e) {
            log.warn("shadow call of deployment {} not started: {}", d.name(), e.toString());
        }
    }

    private void startShadow(Deployment d, InferenceResult primary, PredictRequest request) {
        if (d.policy().shadow().isEmpty()) {
            return;
        }
        int version = d.policy().shadow().get();
        ShadowStats stats = stats(d, version);
        if (!shadowPermits.tryAcquire()) {
            stats.skipped();
            return;
        }
        InFlight count = enter(d);
        if (count == null) {
            shadowPermits.release();
            return;
        }
        long started = System.nanoTime();
        CompletableFuture<InferenceResult> copy;
        try {
            // The copy answers nobody: it never bypasses the cache, streams to no one and has the
            // deployment's own deadline.
            copy = inference.predictCopy(request.withTarget(new Target.Model(d.modelName(), Optional.of(version)))
                    .withTimeout(Optional.of(d.config().timeout())).withFresh(false)
                    .withSink(dev.serveml.runtime.TokenSink.NONE));
        } catch (RuntimeException e) {
            copy = CompletableFuture.failedFuture(e);
        }
        copy.whenComplete((result, failure) -> {
            shadowPermits.release();
            count.leave();
            long took = System.nanoTime() - started;
            observeShadow(d, version, request, took, result, failure);
            if (failure != null) {
                stats.failed(took);
                meters.shadow(d.name(), version, took, "failed");
                log.debug("shadow call of deployment {} to v{} failed: {}", d.name(), version, failure.toString());
                return;
            }
            boolean agreed = Agreement.agree(primary.outputs(), result.outputs());
            stats.completed(took, agreed);
            meters.shadow(d.name(), version, took, agreed ? "agree" : "disagree");
        });
    }

    private void observeShadow(Deployment d, int version, PredictRequest request, long took, InferenceResult result,
                               Throwable failure) {
        try {
            Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
            ProblemType type = cause == null ? null : cause instanceof ProblemException p ? p.type() : ProblemType.INTERNAL;
            observer.observe(new Observation(request.requestId(), System.currentTimeMillis(), request.caller(),
                    result == null ? d.modelId() : result.version().modelId(), d.modelName(), version,
                    Optional.of(d.name()), Observation.Role.SHADOW, request.lane(), took,
                    result == null ? CacheStatus.OFF : result.cache(), type == null ? 200 : type.status(),
                    type == null ? Optional.empty() : Optional.of(type.code()), List.of(),
                    result == null ? Map.of() : result.outputs(), d.config().logging()));
        } catch (RuntimeException e) {
            log.warn("could not observe the shadow copy of {}: {}", request.requestId(), e.toString());
        }
    }

    /** The shadow's record for the deployment's current shadow version, if it has one. */
    Optional<ShadowStats.Reading> shadowReading(Deployment d) {
        return d.policy().shadow().map(v -> stats(d, v).read());
    }

    private ShadowStats stats(Deployment d, int version) {
        return shadows.compute(d.id(), (id, s) -> {
            if (s != null && s.version() == version) {
                return s;
            }
            ShadowStats fresh = new ShadowStats(version);
            meters.shadowAgreement(d.name(), version, fresh::agreementRate);
            return fresh;
        });
    }

    /** Counts a call in, or null when the deployment is being deleted or is gone. */
    private InFlight enter(Deployment d) {
        InFlight calls = inFlight.computeIfAbsent(d.id(), id -> new InFlight());
        if (!calls.enter()) {
            return null;
        }
        if (live.test(d)) {
            return calls;
        }
        // A call that looked the deployment up before its deletion and arrives after the drain
        // ended: refused, and the entry it made again is dropped.
        calls.leave();
        if (calls.running() == 0) {
            inFlight.remove(d.id(), calls);
        }
        return null;
    }

    /**
     * Refuses new calls to the deployment and waits, blocking, until the calls in flight (shadow
     * copies too) are answered or {@code limit} passes; the last call to end signals it. The
     * deployment's entries are dropped either way.
     *
     * @return the calls still in flight when it gave up (0 when drained)
     */
    int drain(long deploymentId, Duration limit) {
        InFlight calls = inFlight.computeIfAbsent(deploymentId, id -> new InFlight());
        try {
            return calls.drain(limit);
        } finally {
            inFlight.remove(deploymentId, calls);
            shadows.remove(deploymentId);
        }
    }
}
