package dev.serveml.config;

import java.time.Duration;

/**
 * Which model versions stay in memory.
 *
 * @param modelMemory budget for loaded versions, in bytes of their own estimates; past it the least
 *                    recently used unpinned, idle version is unloaded
 * @param idleUnload  versions unused this long are unloaded; zero keeps them
 */
public record HostingConfig(long modelMemory, Duration idleUnload) {
}
