/**
 * The typed configuration: one record tree ({@link dev.serveml.config.ServemlConfig}) built once
 * at start-up by {@link dev.serveml.config.ConfigLoader} from defaults, an optional file and
 * {@code SERVEML_*} environment variables, validated with every problem listed at once. Every key
 * is defined once, in the {@link dev.serveml.config.Setting} catalogue (type, default, check,
 * secret flag, documentation), which the loader reads through and the README's table and the
 * {@code config} listing are rendered from. A new key: a constant there, a read in the loader,
 * a component in its record; then regenerate the README table. Only the loader reads the environment.
 */
package dev.serveml.config;
