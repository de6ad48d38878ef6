package dev.serveml.ratelimit;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How many slow things (uploads being received or validated, Hub imports) each user has running
 * at once, held under a ceiling so that one tenant cannot occupy threads, queue and disk that
 * every tenant shares. Thread-safe.
 */
public final class UserSlots {
    private final int perUser;
    private final ConcurrentHashMap<Long, Integer> taken = new ConcurrentHashMap<>();

    public UserSlots(int perUser) {
        if (perUser < 1) {
            throw new IllegalArgumentException("a user needs at least one slot");
        }
        this.perUser = perUser;
    }

    public int perUser() {
        return perUser;
    }

    /**
     * Takes one of the user's slots.
     *
     * @return the handle that gives it back (later runs do nothing), or empty when all are taken
     */
    public Optional<Runnable> tryTake(long userId) {
        boolean[] admitted = {false};
        taken.compute(userId, (user, n) -> {
            int now = n == null ? 0 : n;
            if (now >= perUser) {
                return n;
            }
            admitted[0] = true;
            return now + 1;
        });
        if (!admitted[0]) {
            return Optional.empty();
        }
        AtomicBoolean released = new AtomicBoolean();
        return Optional.of(() -> {
            if (released.compareAndSet(false, true)) {
                taken.computeIfPresent(userId, (user, n) -> n <= 1 ? null : n - 1);
            }
        });
    }
}
