package dev.serveml.http;

import dev.serveml.stats.ServingStats;

/**
 * What one predict or infer call is counted under in the {@link ServingStats}: its model, and its
 * deployment when it came through one. A handler attaches it once it knows the names and marks
 * a cache hit on success; the router records it when the answer has been sent. Used on the
 * request's event loop only.
 */
final class Served {
    private final String model;
    private final String deployment;
    private boolean cacheHit;

    private Served(String model, String deployment) {
        this.model = model;
        this.deployment = deployment;
    }

    static Served model(String model) {
        return new Served(model, null);
    }

    static Served deployment(String deployment, String model) {
        return new Served(model, deployment);
    }

    void cacheHit(boolean hit) {
        this.cacheHit = hit;
    }

    /**
     * Counts the call. Refused callers (401, 403) and unknown names (404) are not counted: they
     * never reached the endpoint, and counting them would let anyone make keys.
     */
    void record(ServingStats stats, int status, long latencyNanos) {
        if (status == 401 || status == 403 || status == 404) {
            return;
        }
        stats.record(ServingStats.Kind.MODEL, model, latencyNanos, status, cacheHit);
        if (deployment != null) {
            stats.record(ServingStats.Kind.DEPLOYMENT, deployment, latencyNanos, status, cacheHit);
        }
    }
}
