package dev.serveml.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The HTTP listener.
 *
 * @param host            address to bind
 * @param port            TCP port; 0 picks a free one
 * @param maxRequestBytes largest JSON or binary request body accepted on predict/infer routes
 * @param eventLoops      Vert.x event-loop threads
 * @param workerThreads   threads for blocking work (database, files, model calls)
 * @param maxResponseBytes largest encoded predict/infer answer (JSON and binary parts together); a
 *                         larger one is the {@code output-too-large} problem
 * @param headerTimeout   how long a new connection may take to send its first request's headers
 * @param idleTimeout     how long a connection may wait between requests, or a request body stall
 * @param maxConnections  connections open at once; more are closed as they arrive
 * @param shutdownTimeout how long a stop waits for requests in flight before closing their connections
 * @param portFile        where to write the port once listening (useful with port 0), if anywhere
 */
public record HttpConfig(String host, int port, long maxRequestBytes, int eventLoops, int workerThreads,
                         long maxResponseBytes, Duration headerTimeout, Duration idleTimeout, int maxConnections,
                         Duration shutdownTimeout, Optional<Path> portFile) {
}
