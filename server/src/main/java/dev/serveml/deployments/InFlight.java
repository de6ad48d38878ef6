package dev.serveml.deployments;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The calls running on one deployment (shadow copies too). Once {@link #drain} is called it
 * refuses new ones, and its future completes when the last running call leaves: a deletion
 * waits on that signal rather than polling the count. Thread-safe.
 */
final class InFlight {
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private int running;
    private boolean draining;

    /** Counts a call in; false once draining, when the call must be refused. */
    synchronized boolean enter() {
        if (draining) {
            return false;
        }
        running++;
        return true;
    }

    /** Counts a call out; the last one out of a draining deployment completes the drain. */
    void leave() {
        boolean last;
        synchronized (this) {
            running--;
            last = draining && running == 0;
        }
        if (last) {
            drained.complete(null);
        }
    }

    synchronized int running() {
        return running;
    }

    /**
     * Refuses new calls and waits, blocking, until the running ones have left or {@code limit}
     * passes.
     *
     * @return the calls still running when it gave up (0 when drained)
     */
    int drain(Duration limit) {
        boolean idle;
        synchronized (this) {
            draining = true;
            idle = running == 0;
        }
        if (idle) {
            drained.complete(null);
        }
        try {
            drained.get(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return running();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return running();
        } catch (ExecutionException e) {
            throw new IllegalStateException("a drain is only ever completed normally", e);
        }
        return 0;
    }
}
