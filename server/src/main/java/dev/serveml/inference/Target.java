package dev.serveml.inference;

import java.util.Objects;
import java.util.Optional;

/** What a prediction is asked of. */
public sealed interface Target {
    /** The name the caller gave. */
    String name();

    /**
     * A model, at a version or (empty) its latest active one.
     */
    record Model(String name, Optional<Integer> version) implements Target {
        public Model {
            Objects.requireNonNull(name);
            Objects.requireNonNull(version);
        }
    }

    /** A deployment: its traffic policy picks the version and its config the deadline and cache rule. */
    record Deployment(String name) implements Target {
        public Deployment {
            Objects.requireNonNull(name);
        }
    }

    /**
     * A name that is a deployment's when the caller can see a deployment by it, else a model's
     * (its latest active version). The Open Inference Protocol's model names are both.
     */
    record Named(String name) implements Target {
        public Named {
            Objects.requireNonNull(name);
        }
    }
}
