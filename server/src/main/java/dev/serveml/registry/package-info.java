/**
 * Models and their versions: naming rules, version numbering, lifecycle states, soft deletion
 * and the choice of the version that serves a request. {@link dev.serveml.registry.ModelRegistry}
 * is the service; {@link dev.serveml.registry.ModelStore} is where it keeps rows.
 */
package dev.serveml.registry;
