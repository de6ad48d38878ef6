package dev.serveml.inference;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Monotonic time and timed wake-ups for the scheduler, injected so that batching, deadlines and
 * idle unloading are tested on a fake clock without sleeping. Implementations are thread-safe.
 */
public interface Ticker {

    /** The current time in nanoseconds, from an arbitrary origin; only differences mean anything. */
    long nanoTime();

    /** Runs {@code action} once, on some other thread, no sooner than {@code delayNanos} from now. */
    void schedule(long delayNanos, Runnable action);

    /** {@link System#nanoTime()} with wake-ups on the given scheduler. */
    static Ticker system(ScheduledExecutorService timers) {
        return new Ticker() {
            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public void schedule(long delayNanos, Runnable action) {
                timers.schedule(action, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
            }
        };
    }
}
