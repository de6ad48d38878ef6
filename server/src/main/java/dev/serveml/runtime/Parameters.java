package dev.serveml.runtime;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A call's parameters beside its tensors, as a client named them: Hugging Face's
 * {@code {"parameters": {"top_k": 2}}}. Values are JSON scalars only ({@link String},
 * {@link Boolean}, {@link Long}, {@link Double}); which names a model takes is its
 * {@link LoadedModel#check} to say. Two requests with different parameters never share a cached
 * answer nor a batched model call: both are keyed by {@link #canonical()}.
 *
 * @param values by name
 */
public record Parameters(Map<String, Object> values) {
    public static final Parameters NONE = new Parameters(Map.of());

    public Parameters {
        values = Map.copyOf(values);
        for (Map.Entry<String, Object> e : values.entrySet()) {
            Object v = e.getValue();
            if (!(v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double)) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' is not a JSON scalar");
            }
        }
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    public Optional<Object> get(String name) {
        return Optional.ofNullable(values.get(name));
    }

    /**
     * One text for equal parameters whatever order they came in: names sorted, each name and value
     * length-prefixed and its value typed, so no two different sets share it. Empty for none.
     */
    public String canonical() {
        if (values.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, Object> e : new TreeMap<>(values).entrySet()) {
            String value = e.getValue().toString();
            char type = switch (e.getValue()) {
                case String s -> 's';
                case Boolean b -> 'b';
                case Long l -> 'l';
                default -> 'd';
            };
            out.append(length(e.getKey())).append(':').append(e.getKey()).append(type)
                    .append(length(value)).append(':').append(value);
        }
        return out.toString();
    }

    private static int length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
