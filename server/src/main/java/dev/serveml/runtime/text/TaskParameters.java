package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A call's parameters read for one task: a name the task does not take, or a value of the wrong
 * kind, is a 422 naming {@code /parameters/<name>} with what the task expects.
 */
final class TaskParameters {
    private final Parameters parameters;
    private final Map<String, String> accepted;

    /** @param accepted each parameter the task takes, with what it expects (the 422's message) */
    TaskParameters(String task, Map<String, String> accepted, Parameters parameters) {
        this.parameters = parameters;
        this.accepted = accepted;
        for (String name : parameters.values().keySet()) {
            if (!accepted.containsKey(name)) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + name, "unknown parameter; "
                        + "a " + task + " model takes " + String.join(", ", accepted.keySet().stream().sorted().toList()));
            }
        }
    }

    boolean has(String name) {
        return parameters.values().containsKey(name);
    }

    /** A whole number in [min, max], or {@code otherwise} when absent. */
    int integer(String name, int min, int max, int otherwise) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return otherwise;
        }
        if (!(v instanceof Long n) || n < min || n > max) {
            throw invalid(name);
        }
        return (int) (long) n;
    }

    /** A number (whole or not) above {@code above} and at most {@code atMost}, or {@code otherwise} when absent. */
    double decimal(String name, double above, double atMost, double otherwise) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return otherwise;
        }
        double d = v instanceof Long n ? n : v instanceof Double x ? x : Double.NaN;
        if (!(d > above && d <= atMost)) {
            throw invalid(name);
        }
        return d;
    }

    /** A list of non-empty strings, or one string, as given (no splitting on commas). */
    Optional<List<String>> list(String name, int most) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return Optional.empty();
        }
        List<String> items = v instanceof String s ? List.of(s) : v instanceof List<?> l
                ? l.stream().map(String.class::cast).toList() : null;
        if (items == null || items.size() > most || items.stream().anyMatch(String::isEmpty)) {
            throw invalid(name);
        }
        return Optional.of(items);
    }

    boolean bool(String name, boolean otherwise) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return otherwise;
        }
        if (!(v instanceof Boolean b)) {
            throw invalid(name);
        }
        return b;
    }

    /** One of {@code choices} (case-insensitive, answered in lower case), or {@code otherwise}. */
    String choice(String name, List<String> choices, String otherwise) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return otherwise;
        }
        if (!(v instanceof String s) || !choices.contains(s.toLowerCase(Locale.ROOT))) {
            throw invalid(name);
        }
        return s.toLowerCase(Locale.ROOT);
    }

    Optional<String> string(String name) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof String s)) {
            throw invalid(name);
        }
        return Optional.of(s);
    }

    /**
     * A list of strings, or one string of comma-separated items (as Hugging Face takes
     * {@code candidate_labels}); items are trimmed, empty ones dropped. Empty when absent.
     */
    Optional<List<String>> strings(String name) {
        Object v = parameters.values().get(name);
        if (v == null) {
            return Optional.empty();
        }
        List<String> items = new ArrayList<>();
        if (v instanceof String s) {
            for (String item : s.split(",")) {
                if (!item.isBlank()) {
                    items.add(item.strip());
                }
            }
        } else if (v instanceof List<?> list) {
            for (Object item : list) {
                if (((String) item).isBlank()) {
                    throw invalid(name);
                }
                items.add((String) item);
            }
        } else {
            throw invalid(name);
        }
        if (items.isEmpty()) {
            throw invalid(name);
        }
        return Optional.of(List.copyOf(items));
    }

    ProblemException invalid(String name) {
        return ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + name, accepted.get(name));
    }

    ProblemException invalid(String name, String why) {
        return ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/" + name, why);
    }
}
