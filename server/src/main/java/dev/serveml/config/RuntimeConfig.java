package dev.serveml.config;

/**
 * Model runtimes.
 *
 * @param onnxIntraOpThreads threads ONNX Runtime may use inside one {@code run}; 1 favours throughput
 *                           under concurrent requests, more favours the latency of one big request
 * @param inferenceThreads   threads that run model calls (and resolve versions) off the event loop
 */
public record RuntimeConfig(int onnxIntraOpThreads, int inferenceThreads) {
}
