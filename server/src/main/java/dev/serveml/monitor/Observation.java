package dev.serveml.monitor;

import dev.serveml.auth.Principal;
import dev.serveml.inference.CacheStatus;
import dev.serveml.inference.PredictRequest;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One prediction as the one way in saw it: answered, or refused with a problem. Immutable; the
 * tensors are the request's and the answer's own (read them, never change them).
 *
 * @param requestId    the request's id ({@link PredictRequest#requestId}); a shadow copy has its primary's
 * @param epochMillis  when the answer (or refusal) came
 * @param caller       who asked
 * @param modelId      the answering version's model id; 0 when no version answered (refused before)
 * @param model        the model's name (the one asked, when none answered)
 * @param version      the version that answered; 0 when none did
 * @param deployment   the deployment it came through, if any
 * @param role         the client's answer, or a deployment's shadow copy (which nobody waits on)
 * @param lane         a client's online call or a batch job's
 * @param latencyNanos from the call to the answer
 * @param cache        how the response cache took part ({@link CacheStatus#OFF} for a refusal)
 * @param status       200, or the refusal's HTTP status
 * @param errorCode    the refusal's problem code ({@code queue-full}), empty when answered
 * @param inputs       the inputs as bound; empty when binding never ran (refused before) and for a shadow
 * @param outputs      the answer's outputs by name, in signature order; empty for a refusal
 * @param logging      the deployment's or model's logging rule
 */
public record Observation(String requestId, long epochMillis, Principal caller, long modelId, String model, int version,
                          Optional<String> deployment, Role role, PredictRequest.Lane lane, long latencyNanos,
                          CacheStatus cache, int status, Optional<String> errorCode, List<Tensor> inputs,
                          Map<String, Output> outputs, LoggingRule logging) {
    public Observation {
        Objects.requireNonNull(requestId);
        Objects.requireNonNull(caller);
        Objects.requireNonNull(model);
        Objects.requireNonNull(deployment);
        Objects.requireNonNull(role);
        Objects.requireNonNull(lane);
        Objects.requireNonNull(cache);
        Objects.requireNonNull(errorCode);
        inputs = List.copyOf(inputs);
        Objects.requireNonNull(outputs);
        Objects.requireNonNull(logging);
    }

    /** Whose answer this is. */
    public enum Role {
        /** The answer the client got. */
        SERVED,
        /** A deployment's shadow version's answer to a copy of the call. */
        SHADOW;

        public String wire() {
            return this == SERVED ? "served" : "shadow";
        }
    }

    /** Whether a model answered. */
    public boolean answered() {
        return status == 200;
    }

    /**
     * The rows the call carried: the first dimension of its first input (1 for a scalar input),
     * or of its first output when no inputs are known; 0 for a refusal with neither.
     */
    public int rows() {
        if (!inputs.isEmpty()) {
            long[] shape = inputs.get(0).shape();
            return shape.length == 0 ? 1 : (int) Math.max(0, shape[0]);
        }
        for (Output o : outputs.values()) {
            if (o instanceof Tensor t) {
                long[] shape = t.shape();
                return shape.length == 0 ? 1 : (int) Math.max(0, shape[0]);
            }
        }
        return 0;
    }
}
