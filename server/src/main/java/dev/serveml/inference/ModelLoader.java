package dev.serveml.inference;

import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Resources;

/** Loads a registered version's artifact into memory with the resources it may use. Blocking. */
@FunctionalInterface
public interface ModelLoader {
    LoadedModel load(ModelVersion version, Resources resources);
}
