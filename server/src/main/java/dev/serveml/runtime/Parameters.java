package dev.serveml.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

    /** Strings one list parameter may hold (candidate labels, targets): a few in practice. */
    private static final int MAX_LIST_PARAMETER = 256;

    /**
     * A request's {@code parameters} object: Hugging Face's on the native routes, the Open
     * Inference Protocol's request parameters on {@code /v2} (less the protocol's own names, which
     * are the server's, not the model's). Each is checked by the model later; here only its type.
     *
     * @param node     the JSON object, or null when the request sent none
     * @param protocol names that belong to the protocol and are left out
     * @throws ProblemException 422 naming {@code /parameters/<name>} for a value that is no parameter
     */
    public static Parameters fromJson(JsonNode node, Set<String> protocol) {
        if (node == null) {
            return NONE;
        }
        if (!node.isObject()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/parameters",
                    "\"parameters\" must be an object such as {\"top_k\": 2}");
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (protocol.contains(e.getKey())) {
                continue;
            }
            JsonNode v = e.getValue();
            Object value = v.isTextual() ? v.textValue() : v.isBoolean() ? (Object) v.booleanValue()
                    : v.isIntegralNumber() && v.canConvertToLong() ? (Object) v.longValue()
                    : v.isNumber() ? (Object) v.doubleValue() : strings(v);
            if (value == null) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + pointerToken(e.getKey()),
                        "a parameter is a string, number, boolean or list of strings (omit it for the model's "
                                + "default)");
            }
            values.put(e.getKey(), value);
        }
        return values.isEmpty() ? NONE : new Parameters(values);
    }

    /** A non-empty JSON array of strings (Hugging Face's {@code candidate_labels}), else null. */
    private static List<String> strings(JsonNode v) {
        if (!v.isArray() || v.isEmpty() || v.size() > MAX_LIST_PARAMETER) {
            return null;
        }
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode element : v) {
            if (!element.isTextual()) {
                return null;
            }
            out.add(element.textValue());
        }
        return out;
    }

    private static String pointerToken(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    /**
     * Whether the call asks for a random answer that no later call should be given again: Hugging
     * Face's {@code do_sample: true} without a {@code seed}. Such a call is never answered from
     * the response cache nor stored in it; a seeded sample is (the same seed gives the same text).
     */
    public boolean unseededSampling() {
        return Boolean.TRUE.equals(values.get("do_sample")) && !values.containsKey("seed");
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
