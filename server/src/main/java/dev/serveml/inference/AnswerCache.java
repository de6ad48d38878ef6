package dev.serveml.inference;

import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import dev.serveml.auth.Principal;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.Parameters;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The response cache as {@link InferenceService} sees it. Implementations are thread-safe and
 * never fail a request: a broken tier answers "not found" and drops writes.
 */
public interface AnswerCache {
    /** No caching at all. */
    AnswerCache NONE = new AnswerCache() {
        @Override
        public Optional<CacheSlot> slot(Principal caller, Model model, ModelVersion version, String variant,
                                        List<Tensor> inputs, Set<String> outputs, Parameters parameters,
                                        CacheRule rule) {
            return Optional.empty();
        }

        @Override
        public CompletableFuture<Optional<Map<String, Output>>> find(CacheSlot slot) {
            return CompletableFuture.completedFuture(Optional.empty());
        }

        @Override
        public Optional<Map<String, Output>> findLocal(CacheSlot slot) {
            return Optional.empty();
        }

        @Override
        public void store(CacheSlot slot, Map<String, Output> outputs) {
        }

        @Override
        public void bypassed(CacheSlot slot) {
        }
    };

    /**
     * Where this request's answer is cached, or empty when it is not cached (by the deployment's
     * rule, else the model's settings, else the server's). The slot depends on the caller, so that
     * an answer never tells one caller what another asked; and on the call's parameters, so that
     * {@code top_k=1} and {@code top_k=2} never share an answer.
     */
    Optional<CacheSlot> slot(Principal caller, Model model, ModelVersion version, String variant,
                             List<Tensor> inputs, Set<String> outputs, Parameters parameters, CacheRule rule);

    /** {@link #slot(Principal, Model, ModelVersion, String, List, Set, Parameters, CacheRule)} without parameters. */
    default Optional<CacheSlot> slot(Principal caller, Model model, ModelVersion version, String variant,
                                     List<Tensor> inputs, Set<String> outputs, CacheRule rule) {
        return slot(caller, model, version, variant, inputs, outputs, Parameters.NONE, rule);
    }

    /** The stored answer; completes (never exceptionally) with empty when there is none. */
    CompletableFuture<Optional<Map<String, Output>>> find(CacheSlot slot);

    /**
     * The answer if this process holds it, without waiting on any remote tier; counts only hits
     * (a miss here is followed by {@link #find}, which counts it).
     */
    Optional<Map<String, Output>> findLocal(CacheSlot slot);

    /** Stores a successful answer (write-through to every tier; never blocks on a remote tier). */
    void store(CacheSlot slot, Map<String, Output> outputs);

    /** Counts a request whose client asked not to be answered from the cache. */
    void bypassed(CacheSlot slot);
}
