/**
 * The typed configuration: one record tree ({@link dev.serveml.config.ServemlConfig}) built once
 * at start-up by {@link dev.serveml.config.ConfigLoader} from defaults, an optional file and
 * {@code SERVEML_*} environment variables, validated with every problem listed at once. Only the
 * loader reads the environment.
 */
package dev.serveml.config;
