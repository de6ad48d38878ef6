package dev.serveml.inference;

import dev.serveml.auth.Principal;
import dev.serveml.registry.Model;

/**
 * A last check before a model runs for a caller (per-model rate limits). Called off the event
 * loop; refuses by throwing a {@link dev.serveml.problem.ProblemException}.
 */
@FunctionalInterface
public interface Admission {
    Admission ALWAYS = (caller, model) -> { };

    void admit(Principal caller, Model model);

    /** Whether {@link #admit} has anything to check for this model (if not, the fast path may skip it). */
    default boolean checks(Model model) {
        return this != ALWAYS;
    }
}
