package dev.serveml.runtime;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A call's parameters beside its tensors, as a client named them: Hugging Face's
 * {@code {"parameters": {"top_k": 2}}}. Values are JSON scalars ({@link String},
 * {@link Boolean}, {@link Long}, {@link Double}) or a list of strings (Hugging Face's
 * {@code candidate_labels}, {@code targets}, {@code ignore_labels}); which names a model takes is its
 * {@link LoadedModel#check} to say. Two requests with different parameters never share a cached
 * answer nor a batched model call: both are keyed by {@link #canonical()}.
 *
 * @param values by name
 */
public record Parameters(Map<String, Object> values) {
    public static final Parameters NONE = new Parameters(Map.of());

    public Parameters {
        Map<String, Object> copy = new java.util.HashMap<>();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            Object v = e.getValue();
            if (v instanceof java.util.List<?> list) {
                if (!list.stream().allMatch(String.class::isInstance)) {
                    throw new IllegalArgumentException("parameter '" + e.getKey() + "' is not a list of strings");
                }
                v = java.util.List.copyOf(list);
            } else if (!(v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double)) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' is not a JSON scalar");
            }
            copy.put(e.getKey(), v);
        }
        values = Map.copyOf(copy);
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
            String value = e.getValue() instanceof java.util.List<?> list ? listText(list) : e.getValue().toString();
            char type = switch (e.getValue()) {
                case String s -> 's';
                case Boolean b -> 'b';
                case Long l -> 'l';
                case java.util.List<?> l -> 'a';
                default -> 'd';
            };
            out.append(length(e.getKey())).append(':').append(e.getKey()).append(type)
                    .append(length(value)).append(':').append(value);
        }
        return out.toString();
    }

    /** Each element length-prefixed, so ["a,b"] and ["a", "b"] differ. */
    private static String listText(java.util.List<?> list) {
        StringBuilder out = new StringBuilder();
        for (Object element : list) {
            out.append(length((String) element)).append(':').append(element);
        }
        return out.toString();
    }

    private static int length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
