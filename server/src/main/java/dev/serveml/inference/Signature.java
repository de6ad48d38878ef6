package dev.serveml.inference;

import java.util.List;
import java.util.Optional;

/** A model's inputs and outputs, in the model's own order. */
public record Signature(List<TensorSpec> inputs, List<TensorSpec> outputs) {
    public Signature {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    public Optional<TensorSpec> findInput(String name) {
        return inputs.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public Optional<TensorSpec> findOutput(String name) {
        return outputs.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}
