package dev.serveml.registry;

/** Receives the registry's {@link VersionEvent}s. Must not throw and must not block for long. */
@FunctionalInterface
public interface VersionListener {
    void on(VersionEvent event);
}
