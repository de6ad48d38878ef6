package dev.serveml.jobs;

import dev.serveml.inference.Target;

import java.util.List;
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
 */
public record JobSpec(Target target, InputFormat input, OutputFormat output, List<String> features,
                      List<String> passthrough, int rowsPerCall, int priority) {
    public static final int DEFAULT_ROWS_PER_CALL = 1024;
    public static final int MAX_ROWS_PER_CALL = 10_000;
    public static final int MAX_PRIORITY = 100;

    public JobSpec {
        Objects.requireNonNull(target);
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
