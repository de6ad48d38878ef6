package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
    static void run(ModelVersion version, LoadedModel model, Optional<Sample> sample) {
        if (sample.isPresent()) {
            try {
                model.infer(sample.get().bind(model.signature()), Set.of());
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
     * A deployment's warm-up sample: the predict body as given (stored and shown back as JSON),
     * decoded once, and bound once per signature. The deployment binds it to each version's
     * signature when it is created or changed (refusing one that does not fit), and every load
     * of those versions then reuses those inputs instead of decoding the body again. Tensors are
     * read through duplicates, so one bound list serves every load. Equal when the bodies are.
     */
    public static final class Sample {
        private final JsonNode body;
        private final NativeRequest request;
        private final Map<Signature, List<Tensor>> bound = new ConcurrentHashMap<>();

        private Sample(JsonNode body) {
            this.body = body;
            this.request = NativeRequest.of(body);
        }

        /** @throws ProblemException {@code invalid-request} when the body is not a predict body */
        public static Sample of(JsonNode body) {
            return new Sample(body.deepCopy());
        }

        /** The body as given. */
        public JsonNode body() {
            return body.deepCopy();
        }

        /**
         * The sample's inputs for this signature, checked as a predict call's would be; bound on
         * the first ask, then reused.
         *
         * @throws ProblemException what a predict call with this body would be answered
         */
        public List<Tensor> bind(Signature signature) {
            return bound.computeIfAbsent(signature, s -> {
                List<Tensor> inputs = request.bind(s);
                InferenceService.validate(s, inputs, Set.of());
                return List.copyOf(inputs);
            });
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Sample other && body.equals(other.body);
        }

        @Override
        public int hashCode() {
            return body.hashCode();
        }

        @Override
        public String toString() {
            return "Sample[" + body + "]";
        }
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
