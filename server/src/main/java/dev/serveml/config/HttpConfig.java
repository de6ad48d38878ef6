package dev.serveml.config;

/**
 * The HTTP listener.
 *
 * @param host           address to bind
 * @param port           TCP port; 0 picks a free one
 * @param maxRequestBytes largest JSON or binary request body accepted on predict/infer routes
 * @param eventLoops     Vert.x event-loop threads
 * @param workerThreads  threads for blocking work (database, files, model calls)
 * @param maxResponseBytes largest encoded predict/infer answer (JSON and binary parts together); a
 *                         larger one is the {@code output-too-large} problem
 */
public record HttpConfig(String host, int port, long maxRequestBytes, int eventLoops, int workerThreads,
                         long maxResponseBytes) {
}
