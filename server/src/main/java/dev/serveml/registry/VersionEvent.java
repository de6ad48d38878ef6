package dev.serveml.registry;

import dev.serveml.runtime.LoadedModel;

import java.util.concurrent.atomic.AtomicReference;

/**
 * What the registry tells those who serve its versions (the model host), so that it never has to
 * call them: a version was registered already loaded, or a version may no longer serve.
 * Listeners are called on the thread that made the change, after it is stored.
 */
public sealed interface VersionEvent {

    /**
     * A new version, validated by loading it. One listener may {@link #adopt} the loaded model to
     * serve its first calls without loading it again; the registry closes it if none does.
     */
    final class Registered implements VersionEvent {
        private final ModelVersion version;
        private final AtomicReference<LoadedModel> model;

        Registered(ModelVersion version, LoadedModel model) {
            this.version = version;
            this.model = new AtomicReference<>(model);
        }

        public ModelVersion version() {
            return version;
        }

        /** The loaded model, to the first caller only; null to every later one. */
        public LoadedModel adopt() {
            return model.getAndSet(null);
        }

        /** Closes the model if no listener adopted it. */
        void closeUnadopted() {
            LoadedModel left = adopt();
            if (left != null) {
                left.close();
            }
        }
    }

    /** A version was archived or deleted (alone or with its model): unload it. */
    record Retired(long versionId) implements VersionEvent {
    }
}
