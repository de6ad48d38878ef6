package dev.serveml.inference;

import dev.serveml.registry.ModelVersion;

import java.util.Map;

/**
 * A model's answer.
 *
 * @param version      the version that served it
 * @param outputs      outputs by name, in signature order
 * @param inferenceNanos time spent in the runtime
 */
public record InferenceResult(ModelVersion version, Map<String, Output> outputs, long inferenceNanos) {
}
