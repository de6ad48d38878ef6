package dev.serveml.deployments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.config.ConfigLoader;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.Serving;
import dev.serveml.inference.WarmUp;
import dev.serveml.problem.ProblemException;
import dev.serveml.runtime.Resources;
import dev.serveml.runtime.python.WorkerEnvironment;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a deployment's versions are served.
 *
 * @param instances     model calls a version runs at once (Python workers, or concurrent runs of the ONNX
 *                      session); 0 for the runtime's default
 * @param maxBatchSize  most rows per model call; 1 turns batching off
 * @param maxQueueDelay longest a queued request waits for others to join its batch
 * @param timeout       deadline of a call that sends no {@code X-Request-Timeout}
 * @param memoryLimit   bytes a version may use (Python workers), empty for the server's default
 * @param env           environment variables for Python workers (names as {@link WorkerEnvironment#refusal} allows)
 * @param idleUnload    unload after this long unused; zero keeps loaded
 * @param minInstances  1 or more keeps the versions loaded (pinned) whatever the memory budget says
 * @param cache         whether and how long answers are cached; what it leaves empty, the model decides
 * @param warmUp        a predict body each version must answer before it counts as loaded
 */
public record DeploymentConfig(int instances, int maxBatchSize, Duration maxQueueDelay, Duration timeout,
                               Optional<Long> memoryLimit, Map<String, String> env, Duration idleUnload,
                               int minInstances, CacheRule cache, Optional<WarmUp.Sample> warmUp) {
    private static final long MIN_MEMORY = 64L << 20;

    public DeploymentConfig {
        env = Map.copyOf(env);
    }

    /** A deployment's config when it names nothing: the server's serving defaults. */
    public static DeploymentConfig defaults(Serving server, Duration timeout) {
        return new DeploymentConfig(0, server.maxBatchSize(), server.maxQueueDelay(), timeout, Optional.empty(),
                Map.of(), server.idleUnload(), 0, CacheRule.MODEL, Optional.empty());
    }

    /** How the host serves this deployment's versions. */
    public Serving serving() {
        return new Serving(new Resources(instances, memoryLimit, env), maxBatchSize, maxQueueDelay, idleUnload, warmUp);
    }

    /**
     * This config with the fields present in {@code node} changed, or the {@code invalid-deployment}
     * problem naming every wrong field.
     */
    public DeploymentConfig merge(JsonNode node, String pointer) {
        List<ProblemException.FieldError> errors = new ArrayList<>();
        if (node == null || node.isNull()) {
            return this;
        }
        if (!node.isObject()) {
            throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError(pointer, "config must be an object")));
        }
        int inst = node.path("instances").isNull() && node.has("instances") ? 0
                : count(node, "instances", instances, 1, 64, pointer, errors);
        int batch = count(node, "max_batch_size", maxBatchSize, 1, 4096, pointer, errors);
        Duration delay = duration(node, "max_queue_delay", maxQueueDelay, true, pointer, errors);
        Duration time = duration(node, "timeout", timeout, false, pointer, errors);
        Duration idle = duration(node, "idle_unload", idleUnload, true, pointer, errors);
        int min = count(node, "min_instances", minInstances, 0, 64, pointer, errors);
        Optional<Long> memory = memoryLimit;
        JsonNode m = node.get("memory_limit");
        if (m != null) {
            long bytes = m.isNull() ? 0 : m.isIntegralNumber() ? m.longValue() : m.isTextual() ? ConfigLoader.parseSize(m.textValue()) : -1;
            if (bytes < 0 || (bytes > 0 && bytes < MIN_MEMORY)) {
                errors.add(new ProblemException.FieldError(pointer + "/memory_limit",
                        "memory_limit must be a size of at least 64MB, such as 512MB or 2GB (null for the server's "
                                + "default)"));
            }
            memory = bytes > 0 ? Optional.of(bytes) : Optional.empty();
        }
        Map<String, String> vars = env;
        JsonNode e = node.get("env");
        if (e != null) {
            vars = new LinkedHashMap<>();
            if (!e.isObject()) {
                errors.add(new ProblemException.FieldError(pointer + "/env", "env must be an object of text values"));
            } else {
                for (var it = e.fields(); it.hasNext(); ) {
                    var f = it.next();
                    Optional<String> refused = WorkerEnvironment.refusal(f.getKey());
                    if (!f.getValue().isTextual() || f.getValue().textValue().indexOf('\0') >= 0) {
                        errors.add(new ProblemException.FieldError(pointer + "/env/" + f.getKey(),
                                "environment variables are NAME: \"text\""));
                    } else if (refused.isPresent()) {
                        errors.add(new ProblemException.FieldError(pointer + "/env/" + f.getKey(), refused.get()));
                    } else {
                        vars.put(f.getKey(), f.getValue().textValue());
                    }
                }
            }
        }
        CacheRule rule = cacheRule(node.get("cache"), cache, pointer + "/cache", errors);
        Optional<WarmUp.Sample> sample = warmUp;
        JsonNode w = node.get("warmup");
        if (w != null && w.isNull()) {
            sample = Optional.empty();
        } else if (w != null) {
            try {
                sample = Optional.of(WarmUp.Sample.of(w));
            } catch (ProblemException bad) {
                errors.add(new ProblemException.FieldError(pointer + "/warmup", "warmup must be a predict body for "
                        + "the model, e.g. {\"features\": [5.1, 3.5, 1.4, 0.2]}: " + bad.detail()));
            }
        }
        if (!errors.isEmpty()) {
            throw TrafficPolicy.invalid(errors);
        }
        return new DeploymentConfig(inst, batch, delay, time, memory, vars, idle, min, rule, sample);
    }

    /** {@code {"enabled": true|false|null, "ttl": "60s"|null}}: null gives the choice back to the model. */
    private static CacheRule cacheRule(JsonNode node, CacheRule current, String pointer,
                                       List<ProblemException.FieldError> errors) {
        if (node == null) {
            return current;
        }
        if (node.isNull()) {
            return CacheRule.MODEL;
        }
        if (!node.isObject()) {
            errors.add(new ProblemException.FieldError(pointer, "cache must be an object such as "
                    + "{\"enabled\": true, \"ttl\": \"60s\"}"));
            return current;
        }
        Optional<Boolean> enabled = current.enabled();
        JsonNode e = node.get("enabled");
        if (e != null) {
            if (e.isNull()) {
                enabled = Optional.empty();
            } else if (e.isBoolean()) {
                enabled = Optional.of(e.booleanValue());
            } else {
                errors.add(new ProblemException.FieldError(pointer + "/enabled",
                        "enabled must be true, false or null (the model's setting)"));
            }
        }
        Optional<Duration> ttl = current.ttl();
        JsonNode t = node.get("ttl");
        if (t != null && t.isNull()) {
            ttl = Optional.empty();
        } else if (t != null) {
            Duration d = duration(node, "ttl", null, false, pointer, errors);
            ttl = Optional.ofNullable(d);
        }
        return new CacheRule(enabled, ttl);
    }

    private static int count(JsonNode node, String field, int current, int min, int max, String pointer,
                             List<ProblemException.FieldError> errors) {
        JsonNode n = node.get(field);
        if (n == null) {
            return current;
        }
        if (!n.isIntegralNumber() || n.longValue() < min || n.longValue() > max) {
            errors.add(new ProblemException.FieldError(pointer + "/" + field, field + " must be a whole number from "
                    + min + " to " + max));
            return current;
        }
        return n.intValue();
    }

    private static Duration duration(JsonNode node, String field, Duration current, boolean zeroAllowed,
                                     String pointer, List<ProblemException.FieldError> errors) {
        JsonNode n = node.get(field);
        if (n == null) {
            return current;
        }
        Duration d = n.isIntegralNumber() ? Duration.ofMillis(n.longValue())
                : n.isTextual() ? ConfigLoader.parseDuration(n.textValue()) : null;
        if (d == null || d.isNegative() || (!zeroAllowed && d.isZero()) || d.compareTo(Duration.ofHours(24)) > 0) {
            errors.add(new ProblemException.FieldError(pointer + "/" + field, field
                    + " must be a duration such as 250ms, 30s or 5m (or milliseconds)"
                    + (zeroAllowed ? "" : ", more than zero")));
            return current;
        }
        return d;
    }

    /** The config as stored and shown; durations in milliseconds. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        if (instances > 0) {
            o.put("instances", instances);
        } else {
            o.putNull("instances");
        }
        o.put("max_batch_size", maxBatchSize)
                .put("max_queue_delay_ms", maxQueueDelay.toMillis()).put("timeout_ms", timeout.toMillis());
        if (memoryLimit.isPresent()) {
            o.put("memory_limit", memoryLimit.get());
        } else {
            o.putNull("memory_limit");
        }
        ObjectNode vars = o.putObject("env");
        env.forEach(vars::put);
        o.put("idle_unload_ms", idleUnload.toMillis()).put("min_instances", minInstances);
        if (warmUp.isPresent()) {
            o.set("warmup", warmUp.get().body());
        } else {
            o.putNull("warmup");
        }
        ObjectNode c = o.putObject("cache");
        if (cache.enabled().isPresent()) {
            c.put("enabled", cache.enabled().get());
        } else {
            c.putNull("enabled");
        }
        if (cache.ttl().isPresent()) {
            c.put("ttl_ms", cache.ttl().get().toMillis());
        } else {
            c.putNull("ttl_ms");
        }
        return o;
    }

    /** Reads what {@link #toJson()} wrote. */
    public static DeploymentConfig fromJson(JsonNode o) {
        Map<String, String> vars = new LinkedHashMap<>();
        o.path("env").fields().forEachRemaining(f -> vars.put(f.getKey(), f.getValue().asText()));
        JsonNode mem = o.get("memory_limit");
        return new DeploymentConfig(o.path("instances").asInt(0), o.path("max_batch_size").asInt(1),
                Duration.ofMillis(o.path("max_queue_delay_ms").asLong(2)), Duration.ofMillis(o.path("timeout_ms").asLong(30_000)),
                mem == null || mem.isNull() ? Optional.empty() : Optional.of(mem.asLong()), vars,
                Duration.ofMillis(o.path("idle_unload_ms").asLong(0)), o.path("min_instances").asInt(0),
                new CacheRule(o.path("cache").path("enabled").isBoolean()
                        ? Optional.of(o.path("cache").path("enabled").booleanValue()) : Optional.empty(),
                        o.path("cache").path("ttl_ms").isIntegralNumber()
                                ? Optional.of(Duration.ofMillis(o.path("cache").path("ttl_ms").longValue()))
                                : Optional.empty()),
                o.hasNonNull("warmup") ? Optional.of(WarmUp.Sample.of(o.get("warmup"))) : Optional.empty());
    }
}
