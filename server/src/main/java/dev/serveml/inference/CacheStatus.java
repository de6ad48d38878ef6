package dev.serveml.inference;

/** How the response cache took part in one answer. */
public enum CacheStatus {
    /** Answered from the cache; the model did not run. */
    HIT,
    /** Not in the cache: the model ran and its answer was stored. */
    MISS,
    /** The client asked for a fresh answer ({@code Cache-Control: no-cache}); it was stored. */
    BYPASS,
    /** The cache is off for this model (or the server). */
    OFF;

    /** What clients are told ({@code X-Cache}, the {@code cache} field): only a hit is a hit. */
    public String label() {
        return this == HIT ? "hit" : "miss";
    }
}
