package dev.serveml.inference;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.LoadedModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The call a freshly loaded model answers before it counts as ready, so the first client does
 * not pay for lazy initialisation: the sample its deployment gave (a predict body), or else one
 * row made from its signature (zeros, empty strings, every dynamic dimension 1).
 */
public final class WarmUp {
    private static final Logger log = LoggerFactory.getLogger(WarmUp.class);

    private WarmUp() {
    }

    /**
     * Runs the warm-up call. A failing sample fails the load (the model cannot answer the example
     * its deployment gave); a failing signature row is only logged, since some models reject zeros.
     *
     * @throws ProblemException {@code invalid-deployment} when the sample does not fit or the model
     *                          rejects it
     */
    static void run(ModelVersion version, LoadedModel model, Optional<JsonNode> sample) {
        if (sample.isPresent()) {
            try {
                model.infer(bind(sample.get(), model.signature()), Set.of());
            } catch (ProblemException e) {
                throw new ProblemException(ProblemType.INVALID_DEPLOYMENT, "the warm-up sample of " + version.label()
                        + " failed: " + e.detail() + " (fix config.warmup, a predict body for this model)");
            }
            return;
        }
        try {
            model.infer(signatureRow(model), Set.of());
        } catch (RuntimeException e) {
            log.warn("warm-up call of {} failed (it loads anyway): {}", version.label(), e.getMessage());
        }
    }

    /**
     * A warm-up sample's inputs for this signature, checked as a predict call's would be; a
     * deployment checks its sample with this before it rolls out.
     *
     * @throws ProblemException what a predict call with this body would be answered
     */
    public static List<Tensor> bind(JsonNode sample, Signature signature) {
        List<Tensor> inputs = NativeRequest.of(sample).bind(signature);
        InferenceService.validate(signature, inputs, Set.of());
        return inputs;
    }

    private static List<Tensor> signatureRow(LoadedModel model) {
        List<Tensor> inputs = new ArrayList<>();
        for (TensorSpec spec : model.signature().inputs()) {
            long[] shape = spec.shape().stream().mapToLong(d -> d < 0 ? 1 : d).toArray();
            int count = Math.toIntExact(Tensor.elementCount(shape));
            inputs.add(spec.datatype() == DataType.BYTES
                    ? Tensor.ofBytes(spec.name(), shape, Collections.nCopies(count, new byte[0]))
                    : Tensor.of(spec.name(), spec.datatype(), shape,
                    ByteBuffer.allocate(count * spec.datatype().size())));
        }
        return inputs;
    }
}
