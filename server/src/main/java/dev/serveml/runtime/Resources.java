package dev.serveml.runtime;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What one loaded model may use, as its deployment asks. Changing any of these needs the model
 * loaded again (unlike batching, which a loaded model's queue takes on the fly).
 *
 * @param instances   model calls that may run at once: Python workers, or concurrent runs of the one
 *                    ONNX session; 0 for the runtime's default
 * @param memoryLimit address-space limit of each Python worker; empty for the server's default
 * @param env         extra environment variables of Python workers
 */
public record Resources(int instances, Optional<Long> memoryLimit, Map<String, String> env) {
    /** The server's defaults for everything. */
    public static final Resources DEFAULT = new Resources(0, Optional.empty(), Map.of());

    public Resources {
        if (instances < 0) {
            throw new IllegalArgumentException("instances must be 0 (default) or more");
        }
        Objects.requireNonNull(memoryLimit);
        env = Map.copyOf(env);
    }

    /**
     * What in these resources can change a model's answers (its environment variables), as a short
     * fingerprint that is the same on every server; empty when there is none.
     */
    public String answerVariant() {
        if (env.isEmpty()) {
            return "";
        }
        StringBuilder text = new StringBuilder();
        new TreeMap<>(env).forEach((k, v) -> text.append(k).append('=').append(v).append('\0'));
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@link #instances} if set, else {@code fallback}. */
    public int instancesOr(int fallback) {
        return instances > 0 ? instances : fallback;
    }

    /** How logs and events name these resources, e.g. "4 instances, 1024 MB per worker, env A, B". */
    public String describe() {
        StringBuilder b = new StringBuilder(instances > 0 ? instances + " instance(s)" : "default instances");
        memoryLimit.ifPresent(m -> b.append(", ").append(m >> 20).append(" MB per worker"));
        if (!env.isEmpty()) {
            b.append(", env ").append(String.join(", ", env.keySet().stream().sorted().toList()));
        }
        return b.toString();
    }
}
