package dev.serveml.deployments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How a deployment's calls are spread over its model's versions: weighted primaries (adding to
 * 100), an optional shadow that gets a copy of each call, and an optional header whose value
 * pins a caller to one version.
 *
 * @param versions     the primaries, each with its share of calls in percent
 * @param shadow       a version that receives copies of calls after the client has its answer
 * @param stickyHeader a request header; calls with the same value go to the same version
 */
public record TrafficPolicy(List<Split> versions, Optional<Integer> shadow, Optional<String> stickyHeader) {
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9-]{1,64}");

    /** One primary version and its share of calls. */
    public record Split(int version, int weight) {
    }

    public TrafficPolicy {
        versions = List.copyOf(versions);
    }

    /** Every version a call may touch: primaries first, then the shadow. */
    public List<Integer> allVersions() {
        List<Integer> all = new ArrayList<>(versions.stream().map(Split::version).toList());
        shadow.ifPresent(all::add);
        return all;
    }

    /**
     * The primary version for one call.
     *
     * @param stickyValue the sticky header's value, or null to choose at random
     * @param random      a number in [0, 100) used when there is no sticky value
     */
    public int choose(String stickyValue, int random) {
        int point = stickyValue == null ? random : bucket(stickyValue);
        int sum = 0;
        for (Split s : versions) {
            sum += s.weight();
            if (point < sum) {
                return s.version();
            }
        }
        return versions.get(versions.size() - 1).version();
    }

    /** A stable bucket in [0, 100) for a sticky key (FNV-1a: the same on every replica and restart). */
    static int bucket(String key) {
        int h = 0x811c9dc5;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x01000193;
        }
        h ^= h >>> 16;
        return Math.floorMod(h, 100);
    }

    /** The same policy with one version taking all the traffic and no shadow. */
    public TrafficPolicy promoted(int version) {
        return new TrafficPolicy(List.of(new Split(version, 100)), Optional.empty(), stickyHeader);
    }

    /**
     * Reads a policy from a request body, or the {@code invalid-deployment} problem listing every
     * field that is wrong.
     *
     * @param pointer where the policy sits in the request ("/policy")
     */
    public static TrafficPolicy parse(JsonNode node, String pointer) {
        List<ProblemException.FieldError> errors = new ArrayList<>();
        if (node == null || !node.isObject()) {
            throw invalid(List.of(new ProblemException.FieldError(pointer, "policy must be an object like "
                    + "{\"versions\": [{\"version\": 1, \"weight\": 100}]}")));
        }
        JsonNode list = node.get("versions");
        List<Split> splits = new ArrayList<>();
        if (list == null || !list.isArray() || list.isEmpty()) {
            errors.add(new ProblemException.FieldError(pointer + "/versions",
                    "versions must be a non-empty list of {\"version\": n, \"weight\": percent}"));
        } else {
            Set<Integer> seen = new HashSet<>();
            int total = 0;
            for (int i = 0; i < list.size(); i++) {
                JsonNode item = list.get(i);
                String at = pointer + "/versions/" + i;
                int version = positive(item == null ? null : item.get("version"), at + "/version", errors,
                        "version must be a version number (1, 2, ...)");
                JsonNode w = item == null ? null : item.get("weight");
                int weight = -1;
                if (w == null || !w.isIntegralNumber() || w.intValue() < 1 || w.intValue() > 100) {
                    errors.add(new ProblemException.FieldError(at + "/weight", "weight must be a whole percent from 1 to 100"));
                } else {
                    weight = w.intValue();
                    total += weight;
                }
                if (version > 0 && !seen.add(version)) {
                    errors.add(new ProblemException.FieldError(at + "/version", "version " + version + " is listed twice"));
                }
                splits.add(new Split(version, weight));
            }
            if (errors.isEmpty() && total != 100) {
                errors.add(new ProblemException.FieldError(pointer + "/versions",
                        "the weights must add up to 100; they add up to " + total));
            }
        }
        Optional<Integer> shadow = Optional.empty();
        JsonNode s = node.get("shadow");
        if (s != null && !s.isNull()) {
            int v = positive(s, pointer + "/shadow", errors, "shadow must be a version number (1, 2, ...)");
            if (v > 0 && splits.stream().anyMatch(x -> x.version() == v)) {
                errors.add(new ProblemException.FieldError(pointer + "/shadow", "the shadow version " + v
                        + " is also a primary; a shadow must be a version that gets no live traffic"));
            }
            shadow = v > 0 ? Optional.of(v) : Optional.empty();
        }
        Optional<String> sticky = Optional.empty();
        JsonNode h = node.get("sticky_header");
        if (h != null && !h.isNull()) {
            if (!h.isTextual() || !HEADER.matcher(h.textValue()).matches()) {
                errors.add(new ProblemException.FieldError(pointer + "/sticky_header",
                        "sticky_header must be a header name such as X-User-Id"));
            } else {
                sticky = Optional.of(h.textValue());
            }
        }
        if (!errors.isEmpty()) {
            throw invalid(errors);
        }
        return new TrafficPolicy(splits, shadow, sticky);
    }

    private static int positive(JsonNode n, String pointer, List<ProblemException.FieldError> errors, String message) {
        if (n == null || !n.isIntegralNumber() || n.intValue() < 1) {
            errors.add(new ProblemException.FieldError(pointer, message));
            return -1;
        }
        return n.intValue();
    }

    static ProblemException invalid(List<ProblemException.FieldError> errors) {
        String detail = errors.size() == 1 ? errors.get(0).message()
                : errors.size() + " fields are invalid: " + String.join("; ", errors.stream()
                .map(e -> e.pointer() + ": " + e.message()).toList());
        return new ProblemException(ProblemType.INVALID_DEPLOYMENT, detail, errors);
    }

    /** The policy as stored and shown: snake_case, as it was sent. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        var arr = o.putArray("versions");
        for (Split s : versions) {
            arr.addObject().put("version", s.version()).put("weight", s.weight());
        }
        shadow.ifPresent(v -> o.put("shadow", v));
        stickyHeader.ifPresent(v -> o.put("sticky_header", v));
        return o;
    }
}
