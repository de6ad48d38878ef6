package dev.serveml.tensor;

import java.util.List;
import java.util.Optional;

/** A model's inputs and outputs, in the model's own order. */
public record Signature(List<TensorSpec> inputs, List<TensorSpec> outputs) {
    public Signature {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    public Optional<TensorSpec> findInput(String name) {
        for (TensorSpec s : inputs) { // a loop, not a stream: every request looks its inputs up
            if (s.name().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    public Optional<TensorSpec> findOutput(String name) {
        return outputs.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}
