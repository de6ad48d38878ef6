package dev.serveml.inference;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A clock that moves only when a test says so, running the wake-ups that fall due. */
final class FakeTicker implements Ticker {
    private record Alarm(long at, Runnable action) {
    }

    private long now = 1_000_000_000L;
    private final List<Alarm> alarms = new ArrayList<>();

    @Override
    public synchronized long nanoTime() {
        return now;
    }

    @Override
    public synchronized void schedule(long delayNanos, Runnable action) {
        alarms.add(new Alarm(now + Math.max(0, delayNanos), action));
    }

    /** Moves the clock on and runs, in time order, every wake-up that is due by then. */
    void advanceMillis(long millis) {
        long target;
        synchronized (this) {
            target = now + millis * 1_000_000L;
        }
        while (true) {
            Alarm next;
            synchronized (this) {
                next = alarms.stream().filter(a -> a.at() <= target).min(Comparator.comparingLong(Alarm::at))
                        .orElse(null);
                if (next == null) {
                    now = target;
                    return;
                }
                alarms.remove(next);
                now = Math.max(now, next.at());
            }
            next.action().run();
        }
    }
}
