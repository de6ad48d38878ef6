package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.config.ConfigLoader;
import dev.serveml.monitor.LoggingRule;
import dev.serveml.monitor.OutboundUrls;
import dev.serveml.deployments.DeploymentChange;
import dev.serveml.deployments.DeploymentConfig;
import dev.serveml.deployments.DeploymentRequest;
import dev.serveml.deployments.TrafficPolicy;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.WarmUp;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.python.WorkerEnvironment;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * The bodies of {@code POST /api/v1/deployments} and {@code PATCH /api/v1/deployments/:name},
 * read into the records the service takes. The body's outline (an object; for a change, one
 * that names a policy or a config) is checked at once; the policy and the config are read when
 * the service reaches them (see {@link DeploymentRequest} for why), each listing every wrong
 * field with its JSON pointer in one {@code invalid-deployment} problem. Pure: no I/O, no Vert.x.
 */
final class DeploymentJson {
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final long MIN_MEMORY = 64L << 20;

    private DeploymentJson() {
    }

    /** @throws ProblemException {@code invalid-request} when the body is not an object */
    static DeploymentRequest creation(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "send {\"name\": \"...\", \"model\": \"...\", "
                    + "\"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": {...}}");
        }
        JsonNode policy = body.get("policy");
        JsonNode config = body.get("config");
        return new DeploymentRequest(text(body, "name"), text(body, "model"), () -> policy(policy, "/policy"),
                defaults -> config(defaults, config, "/config"));
    }

    /** @throws ProblemException {@code invalid-request} when the body is not an object naming a policy or a config */
    static DeploymentChange change(JsonNode body) {
        if (body == null || !body.isObject() || (!body.has("policy") && !body.has("config"))) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "send {\"policy\": {...}} and/or {\"config\": {...}}");
        }
        JsonNode policy = body.get("policy");
        JsonNode config = body.get("config");
        return new DeploymentChange(policy == null ? UnaryOperator.identity() : current -> policy(policy, "/policy"),
                current -> config(current, config, "/config"));
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        return n == null || !n.isTextual() ? Optional.empty() : Optional.of(n.textValue());
    }

    /**
     * A policy, or the {@code invalid-deployment} problem listing every field that is wrong.
     *
     * @param pointer where the policy sits in the request ("/policy")
     */
    static TrafficPolicy policy(JsonNode node, String pointer) {
        List<ProblemException.FieldError> errors = new ArrayList<>();
        if (node == null || !node.isObject()) {
            throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError(pointer, "policy must be an object like "
                    + "{\"versions\": [{\"version\": 1, \"weight\": 100}]}")));
        }
        JsonNode list = node.get("versions");
        List<TrafficPolicy.Split> splits = new ArrayList<>();
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
                splits.add(new TrafficPolicy.Split(version, weight));
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
            throw TrafficPolicy.invalid(errors);
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

    /**
     * {@code base} with the fields present in {@code node} changed (null sets a field back to its
     * default), or the {@code invalid-deployment} problem naming every wrong field.
     *
     * @param pointer where the config sits in the request ("/config")
     */
    static DeploymentConfig config(DeploymentConfig base, JsonNode node, String pointer) {
        List<ProblemException.FieldError> errors = new ArrayList<>();
        if (node == null || node.isNull()) {
            return base;
        }
        if (!node.isObject()) {
            throw TrafficPolicy.invalid(List.of(new ProblemException.FieldError(pointer, "config must be an object")));
        }
        int inst = node.path("instances").isNull() && node.has("instances") ? 0
                : count(node, "instances", base.instances(), 1, 64, pointer, errors);
        int batch = count(node, "max_batch_size", base.maxBatchSize(), 1, 4096, pointer, errors);
        Duration delay = duration(node, "max_queue_delay", base.maxQueueDelay(), true, pointer, errors);
        Duration time = duration(node, "timeout", base.timeout(), false, pointer, errors);
        Duration idle = duration(node, "idle_unload", base.idleUnload(), true, pointer, errors);
        int min = count(node, "min_instances", base.minInstances(), 0, 64, pointer, errors);
        Optional<Long> memory = base.memoryLimit();
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
        Map<String, String> vars = base.env();
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
        CacheRule rule = cacheRule(node.get("cache"), base.cache(), pointer + "/cache", errors);
        Optional<WarmUp.Sample> sample = base.warmUp();
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
        LoggingRule logging = logging(node.get("logging"), base.logging(), pointer + "/logging", errors);
        if (!errors.isEmpty()) {
            throw TrafficPolicy.invalid(errors);
        }
        return new DeploymentConfig(inst, batch, delay, time, memory, vars, idle, min, rule, sample, logging);
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

    /**
     * {@code base} with the fields of a {@code logging} object changed ({@code null} turns logging
     * off), adding what is wrong to {@code errors}.
     */
    static LoggingRule logging(JsonNode node, LoggingRule base, String pointer, List<ProblemException.FieldError> errors) {
        if (node == null) {
            return base;
        }
        if (node.isNull()) {
            return LoggingRule.OFF;
        }
        if (!node.isObject()) {
            errors.add(new ProblemException.FieldError(pointer, "logging must be an object such as "
                    + "{\"sample_rate\": 0.1, \"payloads\": true, \"max_payload_bytes\": 65536}"));
            return base;
        }
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!Set.of("sample_rate", "payloads", "max_payload_bytes", "feedback", "url").contains(f)) {
                errors.add(new ProblemException.FieldError(pointer + "/" + f, "logging takes sample_rate, payloads, "
                        + "max_payload_bytes, feedback and url; '" + f + "' is none of them"));
            }
        }
        double rate = base.sampleRate();
        JsonNode r = node.get("sample_rate");
        if (r != null) {
            if (!r.isNumber() || !(r.doubleValue() >= 0 && r.doubleValue() <= 1)) {
                errors.add(new ProblemException.FieldError(pointer + "/sample_rate",
                        "sample_rate must be a number from 0 (log nothing) to 1 (log every prediction)"));
            } else {
                rate = r.doubleValue();
            }
        }
        boolean payloads = flag(node, "payloads", base.payloads(), pointer, errors);
        boolean feedback = flag(node, "feedback", base.feedback(), pointer, errors);
        int max = base.maxPayloadBytes();
        JsonNode m = node.get("max_payload_bytes");
        if (m != null) {
            if (!m.isIntegralNumber() || m.longValue() < 0 || m.longValue() > MAX_LOGGED_PAYLOAD) {
                errors.add(new ProblemException.FieldError(pointer + "/max_payload_bytes",
                        "max_payload_bytes must be a whole number of bytes from 0 to " + MAX_LOGGED_PAYLOAD));
            } else {
                max = m.intValue();
            }
        }
        Optional<java.net.URI> url = base.url();
        JsonNode u = node.get("url");
        if (u != null) {
            if (u.isNull()) {
                url = Optional.empty();
            } else {
                Optional<String> refused = u.isTextual() ? OutboundUrls.refusal(u.textValue())
                        : Optional.of("url must be an http or https URL");
                if (refused.isPresent()) {
                    errors.add(new ProblemException.FieldError(pointer + "/url", refused.get()));
                } else {
                    url = Optional.of(java.net.URI.create(u.textValue()));
                }
            }
        }
        return errors.isEmpty() ? new LoggingRule(rate, payloads, max, feedback, url) : base;
    }

    /** The most payload bytes a logged prediction may keep (1 MiB). */
    static final int MAX_LOGGED_PAYLOAD = 1 << 20;

    private static boolean flag(JsonNode node, String name, boolean base, String pointer,
                                List<ProblemException.FieldError> errors) {
        JsonNode f = node.get(name);
        if (f == null) {
            return base;
        }
        if (!f.isBoolean()) {
            errors.add(new ProblemException.FieldError(pointer + "/" + name, name + " must be true or false"));
            return base;
        }
        return f.booleanValue();
    }
}
