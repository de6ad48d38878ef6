package dev.serveml.inference;

import dev.serveml.tensor.Output;

import dev.serveml.registry.ModelVersion;

import java.util.Map;

/**
 * A model's answer.
 *
 * @param version      the version that served it
 * @param outputs      outputs by name, in signature order
 * @param inferenceNanos time spent in the runtime (0 for an answer from the cache)
 * @param cache          how the response cache took part
 */
public record InferenceResult(ModelVersion version, Map<String, Output> outputs, long inferenceNanos,
                              CacheStatus cache) {
}
