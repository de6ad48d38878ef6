package dev.serveml.config;

/**
 * Model runtimes.
 *
 * @param onnxIntraOpThreads threads ONNX Runtime may use inside one {@code run}; 1 favours throughput
 *                           under concurrent requests, more favours the latency of one big request
 * @param inferenceThreads   threads that run model calls (and resolve versions) off the event loop
 * @param maxOutputElements  the most elements one model answer may hold, all outputs together; a
 *                           larger answer is the {@code output-too-large} problem, refused before it
 *                           is copied out of the runtime
 * @param generationSequences the most sequences a text-generation model steps through one model
 *                           call together (continuous batching); 1 generates one at a time
 */
public record RuntimeConfig(int onnxIntraOpThreads, int inferenceThreads, int maxOutputElements,
                            int generationSequences) {
}
