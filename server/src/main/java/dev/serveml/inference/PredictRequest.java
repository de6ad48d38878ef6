package dev.serveml.inference;

import dev.serveml.auth.Principal;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.TokenSink;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * One prediction, as every protocol and caller asks for it (native and V2 over HTTP, and what
 * comes after: gRPC, OpenAI routes, batch jobs, the CLI). Build it with {@link #of} and the
 * {@code with} methods; hand it to the {@code Predictor}.
 *
 * @param caller    who asks; their rights, limits and cache partition apply
 * @param target    the model or deployment asked
 * @param binder    turns the request into input tensors once the signature is known; may throw
 *                  {@code ProblemException} with the field at fault
 * @param outputs   the outputs wanted, by name; empty for all
 * @param timeout   how long the call may wait for the model, from when it is made; empty for the
 *                  deployment's or the server's default
 * @param fresh     run the model even if the answer is cached (the fresh answer is still stored)
 * @param sizeBytes the size of the request as it came (a body's length), which decides whether it may
 *                  be bound on the calling thread; -1 when unknown (then it never is)
 * @param metadata  the request's headers (HTTP) or metadata (gRPC) by name, null when absent: a
 *                  deployment's sticky routing reads one
 * @param parameters what the call asks of the model besides its inputs (Hugging Face's {@code top_k});
 *                  the model refuses names it does not take, and they are part of the cache key
 * @param sink      told each token as a generating model produces it (a streamed answer), or
 *                  {@link TokenSink#NONE}; a request with a sink is never answered from the cache
 *                  nor stored in it (its client may leave and cut it short), and a model that does
 *                  not generate refuses it
 *                  ({@code /stream}, 422)
 * @param lane      {@link Lane#ONLINE} for a client waiting on the answer; {@link Lane#BATCH} for a batch
 *                  job's call, which waits behind online calls in the version's queue and is neither
 *                  answered from the response cache nor stored in it (a job's rows are read once)
 * @param requestId what the answer is known by: the HTTP request's {@code X-Request-Id}, a batch job's
 *                  row; the prediction log keys it, and feedback names it. Not unique across callers
 *                  (a client may choose its own), so it is only ever looked up within one caller's rows
 */
public record PredictRequest(Principal caller, Target target, Function<Signature, List<Tensor>> binder,
                             Set<String> outputs, Optional<Duration> timeout, boolean fresh, long sizeBytes,
                             UnaryOperator<String> metadata, Parameters parameters, TokenSink sink, Lane lane,
                             String requestId) {
    /**
     * Requests up to this size are bound and validated on the calling thread when their model is
     * already in memory: the fast path that skips two thread hand-offs. Larger ones never are, so
     * a big body cannot hold an event loop.
     */
    public static final int INLINE_BYTES = 64 * 1024;

    private static final UnaryOperator<String> NO_METADATA = name -> null;

    public PredictRequest {
        Objects.requireNonNull(caller);
        Objects.requireNonNull(target);
        Objects.requireNonNull(binder);
        outputs = Set.copyOf(outputs);
        Objects.requireNonNull(timeout);
        Objects.requireNonNull(metadata);
        Objects.requireNonNull(parameters);
        Objects.requireNonNull(sink);
        Objects.requireNonNull(lane);
        Objects.requireNonNull(requestId);
    }

    /** Who waits on a call: a client now, or a batch job. */
    public enum Lane { ONLINE, BATCH }

    /** A request for all outputs, default deadline, cached answers allowed, no metadata, size unknown. */
    public static PredictRequest of(Principal caller, Target target, Function<Signature, List<Tensor>> binder) {
        return new PredictRequest(caller, target, binder, Set.of(), Optional.empty(), false, -1, NO_METADATA,
                Parameters.NONE, TokenSink.NONE, Lane.ONLINE, RequestId.random());
    }

    /** A request whose inputs are already tensors (a protocol that sends them by name, typed). */
    public static PredictRequest of(Principal caller, Target target, List<Tensor> inputs) {
        List<Tensor> copy = List.copyOf(inputs);
        return of(caller, target, signature -> copy);
    }

    public PredictRequest withTarget(Target target) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withBinder(Function<Signature, List<Tensor>> binder) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withOutputs(Set<String> outputs) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withTimeout(Optional<Duration> timeout) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withFresh(boolean fresh) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withSize(long sizeBytes) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withMetadata(UnaryOperator<String> metadata) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withParameters(Parameters parameters) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withLane(Lane lane) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withRequestId(String requestId) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    public PredictRequest withSink(TokenSink sink) {
        return new PredictRequest(caller, target, binder, outputs, timeout, fresh, sizeBytes, metadata, parameters, sink, lane, requestId);
    }

    /** Whether it streams: a sink was given. */
    public boolean streams() {
        return sink != TokenSink.NONE;
    }

    /** Whether it is small enough to bind on the calling thread (see {@link #INLINE_BYTES}). */
    boolean bindsInline() {
        return sizeBytes >= 0 && sizeBytes <= INLINE_BYTES;
    }
}
