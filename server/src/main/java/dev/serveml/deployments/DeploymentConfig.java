package dev.serveml.deployments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.Serving;
import dev.serveml.inference.WarmUp;
import dev.serveml.monitor.LoggingRule;
import dev.serveml.runtime.Resources;

import java.time.Duration;
import java.util.LinkedHashMap;
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
 * @param env           environment variables for Python workers (names as
 *                      {@link dev.serveml.runtime.python.WorkerEnvironment#refusal} allows)
 * @param idleUnload    unload after this long unused; zero keeps loaded
 * @param minInstances  1 or more keeps the versions loaded (pinned) whatever the memory budget says
 * @param cache         whether and how long answers are cached; what it leaves empty, the model decides
 * @param warmUp        a predict body each version must answer before it counts as loaded
 * @param logging       what the prediction log keeps of its predictions (off by default)
 */
public record DeploymentConfig(int instances, int maxBatchSize, Duration maxQueueDelay, Duration timeout,
                               Optional<Long> memoryLimit, Map<String, String> env, Duration idleUnload,
                               int minInstances, CacheRule cache, Optional<WarmUp.Sample> warmUp,
                               LoggingRule logging) {
    public DeploymentConfig {
        env = Map.copyOf(env);
        java.util.Objects.requireNonNull(logging);
    }

    /** A deployment's config when it names nothing: the server's serving defaults. */
    public static DeploymentConfig defaults(Serving server, Duration timeout) {
        return new DeploymentConfig(0, server.maxBatchSize(), server.maxQueueDelay(), timeout, Optional.empty(),
                Map.of(), server.idleUnload(), 0, CacheRule.MODEL, Optional.empty(), LoggingRule.OFF);
    }

    /** How the host serves this deployment's versions. */
    public Serving serving() {
        return new Serving(new Resources(instances, memoryLimit, env), maxBatchSize, maxQueueDelay, idleUnload, warmUp);
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
        ObjectNode l = o.putObject("logging");
        l.put("sample_rate", logging.sampleRate()).put("payloads", logging.payloads())
                .put("max_payload_bytes", logging.maxPayloadBytes()).put("feedback", logging.feedback());
        if (logging.url().isPresent()) {
            l.put("url", logging.url().get().toString());
        } else {
            l.putNull("url");
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
                o.hasNonNull("warmup") ? Optional.of(WarmUp.Sample.of(o.get("warmup"))) : Optional.empty(),
                logging(o.path("logging")));
    }

    private static LoggingRule logging(JsonNode l) {
        if (!l.isObject()) {
            return LoggingRule.OFF;
        }
        return new LoggingRule(l.path("sample_rate").asDouble(0), l.path("payloads").asBoolean(false),
                l.path("max_payload_bytes").asInt(LoggingRule.DEFAULT_MAX_PAYLOAD_BYTES), l.path("feedback").asBoolean(false),
                l.hasNonNull("url") ? Optional.of(java.net.URI.create(l.get("url").asText())) : Optional.empty());
    }
}
