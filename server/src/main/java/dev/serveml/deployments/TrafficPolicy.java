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
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

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
    /** One primary version and its share of calls. */
    public record Split(int version, int weight) {
    }

    /**
     * A policy is valid whoever builds it: the HTTP reader explains each fault with its field
     * first, and this refuses any policy that would route wrongly (a caller that builds one itself
     * cannot skip the rules).
     *
     * @throws IllegalArgumentException when the primaries are empty, repeat a version, or their
     *                                  weights are not whole percents adding to 100, or the shadow
     *                                  is also a primary
     */
    public TrafficPolicy {
        versions = List.copyOf(versions);
        if (versions.isEmpty()) {
            throw new IllegalArgumentException("a traffic policy has at least one primary version");
        }
        int total = 0;
        Set<Integer> seen = new HashSet<>();
        for (Split split : versions) {
            if (split.version() < 1 || split.weight() < 1 || split.weight() > 100 || !seen.add(split.version())) {
                throw new IllegalArgumentException("invalid split " + split + " in " + versions);
            }
            total += split.weight();
        }
        if (total != 100) {
            throw new IllegalArgumentException("the weights add up to " + total + ", not 100");
        }
        if (shadow.isPresent() && (shadow.get() < 1 || seen.contains(shadow.get()))) {
            throw new IllegalArgumentException("the shadow " + shadow.get() + " is not a version apart from the primaries");
        }
        Objects.requireNonNull(stickyHeader);
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
     * The {@code invalid-deployment} problem for these fields; its detail is the one message, or
     * every field and its message. The service and the HTTP reader of policies word it alike.
     */
    public static ProblemException invalid(List<ProblemException.FieldError> errors) {
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

    /** Reads what {@link #toJson()} wrote. */
    public static TrafficPolicy fromJson(JsonNode o) {
        List<Split> splits = new ArrayList<>();
        o.path("versions").forEach(s -> splits.add(new Split(s.path("version").asInt(), s.path("weight").asInt())));
        return new TrafficPolicy(splits, o.hasNonNull("shadow") ? Optional.of(o.get("shadow").asInt()) : Optional.empty(),
                o.hasNonNull("sticky_header") ? Optional.of(o.get("sticky_header").asText()) : Optional.empty());
    }
}
