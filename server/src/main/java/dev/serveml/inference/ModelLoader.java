package dev.serveml.inference;

import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.LoadedModel;

/** Loads a registered version's artifact into memory. Blocking. */
@FunctionalInterface
public interface ModelLoader {
    LoadedModel load(ModelVersion version);
}
