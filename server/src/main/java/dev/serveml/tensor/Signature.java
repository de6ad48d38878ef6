package dev.serveml.tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

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

    /**
     * What a runtime produced, as an answer: the outputs this signature lists first, in its order;
     * then, with {@code keepExtras}, the ones it does not list, in the order produced (a Python
     * handler may return more than its signature says; ONNX Runtime cannot). Only the names in
     * {@code wanted} when it is not empty. Of two produced under one name, the first counts.
     *
     * @param name names a produced output
     */
    public <T> Map<String, T> inOutputOrder(Iterable<? extends T> produced, Function<? super T, String> name,
                                            Set<String> wanted, boolean keepExtras) {
        Map<String, T> byName = new LinkedHashMap<>();
        for (T p : produced) {
            byName.putIfAbsent(name.apply(p), p);
        }
        Map<String, T> answer = new LinkedHashMap<>();
        for (TensorSpec spec : outputs) {
            T p = byName.get(spec.name());
            if (p != null && (wanted.isEmpty() || wanted.contains(spec.name()))) {
                answer.put(spec.name(), p);
            }
        }
        if (keepExtras) {
            for (Map.Entry<String, T> e : byName.entrySet()) {
                if (!answer.containsKey(e.getKey()) && findOutput(e.getKey()).isEmpty()
                        && (wanted.isEmpty() || wanted.contains(e.getKey()))) {
                    answer.put(e.getKey(), e.getValue());
                }
            }
        }
        return answer;
    }
}
