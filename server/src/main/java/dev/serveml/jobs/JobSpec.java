package dev.serveml.jobs;

import dev.serveml.inference.Target;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a job was asked to do, as accepted.
 *
 * @param target      a {@link Target.Model} (with an optional version) or a {@link Target.Deployment}
 * @param input       the input file's format
 * @param output      the result's format
 * @param features    the columns that feed the model, in order; empty for the signature's
 * @param passthrough the columns copied to each result and error row (an id)
 * @param rowsPerCall rows per model call, and per chunk of the job
 * @param priority    higher runs first among waiting jobs
 * @param lines       for a job whose rows are whole requests (OpenAI's batch lines, each naming its own
 *                    route and model): what was asked of the batch; then {@code target} is null, the
 *                    input JSON Lines and there is no binding. Null for a job of feature rows.
 */
public record JobSpec(Target target, InputFormat input, OutputFormat output, List<String> features,
                      List<String> passthrough, int rowsPerCall, int priority, Lines lines) {
    public static final int DEFAULT_ROWS_PER_CALL = 1024;
    public static final int MAX_ROWS_PER_CALL = 10_000;
    public static final int MAX_PRIORITY = 100;

    /**
     * What a batch of request lines was asked, as OpenAI's batch API takes it.
     *
     * @param endpoint         the route the batch is for ({@code /v1/embeddings}, ...)
     * @param completionWindow the window it should finish in ({@code 24h})
     * @param metadata         the caller's labels, kept and shown
     */
    public record Lines(String endpoint, String completionWindow, Map<String, String> metadata) {
        public Lines {
            Objects.requireNonNull(endpoint);
            Objects.requireNonNull(completionWindow);
            metadata = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
        }
    }

    /** A job of feature rows. */
    public JobSpec(Target target, InputFormat input, OutputFormat output, List<String> features,
                   List<String> passthrough, int rowsPerCall, int priority) {
        this(target, input, output, features, passthrough, rowsPerCall, priority, null);
    }

    public JobSpec {
        if (lines == null) {
            Objects.requireNonNull(target);
        } else if (target != null || input != InputFormat.JSONL) {
            throw new IllegalArgumentException("a job of request lines reads JSON Lines and names no target");
        }
        if (target instanceof Target.Named) {
            throw new IllegalArgumentException("a job names a model or a deployment");
        }
        Objects.requireNonNull(input);
        Objects.requireNonNull(output);
        features = List.copyOf(features);
        passthrough = List.copyOf(passthrough);
        if (rowsPerCall < 1 || rowsPerCall > MAX_ROWS_PER_CALL) {
            throw new IllegalArgumentException("rows per call out of range: " + rowsPerCall);
        }
        if (Math.abs(priority) > MAX_PRIORITY) {
            throw new IllegalArgumentException("priority out of range: " + priority);
        }
    }
}
