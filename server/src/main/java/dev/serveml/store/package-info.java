/**
 * PostgreSQL: the connection pool, the embedded server for zero-set-up mode (run and owned by
 * ServeML itself: {@code LocalPostgres}, with zonky's binaries), Flyway migrations (under
 * {@code db/migration}) and the JDBC implementations of the stores the services declare.
 */
package dev.serveml.store;
