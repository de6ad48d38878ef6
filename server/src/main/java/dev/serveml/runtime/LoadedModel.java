package dev.serveml.runtime;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model in memory, ready to answer. {@link #infer} may be called from many threads at once.
 */
public interface LoadedModel extends AutoCloseable {

    Signature signature();

    /**
     * Runs the model. Blocking. Inputs have been validated against {@link #signature()}.
     *
     * @param inputs  every input the signature names, in any order
     * @param outputs the outputs wanted; empty means all
     * @return outputs by name, in signature order
     */
    Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs);

    /**
     * {@link #infer(List, Set)} with the call's parameters, which {@link #check} has accepted; rows
     * with different parameters are never stacked into one call. By default a model takes none.
     */
    default Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        return infer(inputs, outputs);
    }

    /**
     * Refuses a request before it is queued, so that a bad one never fails a batch it would have
     * shared: what the signature cannot say about the inputs (an empty text), and parameters the
     * model does not take. By default a model takes no parameters.
     *
     * @param inputs validated against {@link #signature()}
     * @throws ProblemException a 422 naming the field at fault ({@code /parameters/top_k}, {@code /inputs/0})
     */
    default void check(List<Tensor> inputs, Parameters parameters) {
        if (!parameters.isEmpty()) {
            String name = new java.util.TreeSet<>(parameters.values().keySet()).first();
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + name,
                    "this model takes no parameters; send its inputs alone");
        }
    }

    /** What the runtime learned while loading (framework, estimator, classes...), shown on the version. */
    default Map<String, Object> metadata() {
        return Map.of();
    }

    /**
     * Whether rows of several requests may be stacked along the first dimension into one call and
     * the answer cut back row by row. By default: when every input's first dimension is dynamic.
     */
    default boolean batchable() {
        return !signature().inputs().isEmpty() && signature().inputs().stream().allMatch(TensorSpec::batchable);
    }

    /**
     * Which requests may share a stacked call by size: the batcher stacks only requests of the same
     * group, so a model whose cost follows its longest row (a text batch is padded to its longest
     * text) keeps short requests out of long ones' calls. 0, the default, for no grouping. Called
     * for every batchable request before it is queued, possibly on an event loop: it must be cheap.
     *
     * @param inputs     validated against {@link #signature()} and accepted by {@link #check}
     * @param parameters the call's parameters, accepted by {@link #check}
     */
    default int batchGroup(List<Tensor> inputs, Parameters parameters) {
        return 0;
    }

    /**
     * Calls this model can usefully run at once (its Python workers, or the instances its
     * deployment asked for); 0 when the runtime has no opinion and the server's default applies.
     */
    default int concurrency() {
        return 0;
    }

    /**
     * Why this model refuses calls right now although it is loaded (its workers keep crashing
     * and it is cooling down, say), or empty when it serves. Readiness reports it.
     */
    default java.util.Optional<String> unavailable() {
        return java.util.Optional.empty();
    }

    /**
     * A model that schedules its own calls: a text generator steps every sequence in flight through
     * one model call per token (continuous batching), so a request holds no worker while it
     * generates. The batcher hands it each request as it comes, counts it in flight (up to
     * {@link #concurrency()}) until its future completes, and never stacks requests for it. Empty,
     * the default, for a model the batcher calls on its workers.
     */
    default java.util.Optional<Scheduled> scheduled() {
        return java.util.Optional.empty();
    }

    /** How a {@link #scheduled()} model takes calls. */
    interface Scheduled {
        /**
         * Starts a call. Never blocks: the model's own thread tokenizes and runs it.
         *
         * @param inputs     validated and accepted by {@link #check}
         * @param sink       told each token as it is generated; answering false ends that row
         * @return completes with the outputs by name (a cancelled row's too), or exceptionally with
         *         a {@code ProblemException}
         */
        java.util.concurrent.CompletableFuture<Map<String, Output>> submit(List<Tensor> inputs, Set<String> outputs,
                                                                            Parameters parameters, TokenSink sink);
    }

    /** A rough estimate of the memory the model holds, in bytes (for budgets and metrics). */
    long memoryBytes();

    @Override
    void close();
}
