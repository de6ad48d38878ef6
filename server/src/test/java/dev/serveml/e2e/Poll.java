package dev.serveml.e2e;

import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one way an IT waits for something to become true: poll a condition until it holds or a
 * generous limit passes, then fail naming what did not happen. A limit is an upper bound for a
 * broken server, never a timing assertion (two shared cores make every duration noisy).
 */
public final class Poll {
    private static final Duration EVERY = Duration.ofMillis(50);

    private Poll() {
    }

    /** Returns once {@code condition} holds; fails with "timed out waiting for {@code what}" after {@code limit}. */
    public static void until(BooleanSupplier condition, Duration limit, String what) {
        until(() -> condition.getAsBoolean() ? Boolean.TRUE : null, v -> true, limit, what);
    }

    /**
     * Returns the first value of {@code value} that {@code done} accepts; a null value counts as not
     * yet. Fails after {@code limit}, saying the last value seen.
     */
    public static <T> T until(Supplier<T> value, Predicate<? super T> done, Duration limit, String what) {
        long deadline = System.nanoTime() + limit.toNanos();
        T last = null;
        while (true) {
            last = value.get();
            if (last != null && done.test(last)) {
                return last;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting for " + what
                        + Optional.ofNullable(last).map(v -> "; last seen: " + v).orElse(""));
            }
            try {
                Thread.sleep(EVERY.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }
}
