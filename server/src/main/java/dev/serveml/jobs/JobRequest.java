package dev.serveml.jobs;

import dev.serveml.artifacts.StagedUpload;
import dev.serveml.inference.Target;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A job as a caller asks for it, before it is checked against the file and the model.
 *
 * @param upload the input sent with the request, or empty when {@code fileId} names an uploaded one
 * @param fileId an uploaded file, or empty
 * @param input  the input's format, or empty to take it from the file's name
 * @param output the result's format, or empty for CSV from CSV and JSON Lines otherwise
 */
public record JobRequest(Target target, Optional<StagedUpload> upload, Optional<String> fileId,
                         Optional<InputFormat> input, Optional<OutputFormat> output, List<String> features,
                         List<String> passthrough, int rowsPerCall, int priority) {
    public JobRequest {
        Objects.requireNonNull(target);
        Objects.requireNonNull(upload);
        Objects.requireNonNull(fileId);
        Objects.requireNonNull(input);
        Objects.requireNonNull(output);
        features = List.copyOf(features);
        passthrough = List.copyOf(passthrough);
    }
}
