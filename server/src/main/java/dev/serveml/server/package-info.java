/**
 * The composition root: {@link dev.serveml.server.ServemlServer} builds the object graph in order
 * (configuration, database and migrations, stores, runtimes, registry, inference, HTTP) and closes
 * it in reverse; {@link dev.serveml.server.Main} is the command line entry point.
 */
package dev.serveml.server;
