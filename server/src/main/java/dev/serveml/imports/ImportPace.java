package dev.serveml.imports;

import dev.serveml.hub.HubProgress;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

/**
 * Thins a download's progress into the events worth recording: one when the percent passes another
 * 5% step, or when a second has passed since the last one, and one at 100%; never more. Measures
 * the rate over the last {@link #WINDOW} and the time left at it. Used by the one downloading
 * thread of an import; {@code record} is called on it.
 */
final class ImportPace implements HubProgress {
    static final Duration WINDOW = Duration.ofSeconds(5);
    private static final Duration EVERY = Duration.ofSeconds(1);
    private static final int STEP = 5;

    /** What an event records. */
    record Reading(int percent, long doneBytes, long totalBytes, Long rateBytesPerSecond, Long etaSeconds,
                   String file) {
    }

    private record Sample(Instant at, long bytes) {
    }

    private final InstantSource clock;
    private final Consumer<Reading> record;
    private final Deque<Sample> samples = new ArrayDeque<>();
    private int percent = -1;
    private int recordedPercent = -1;
    private Instant recordedAt;

    ImportPace(InstantSource clock, Consumer<Reading> record) {
        this.clock = clock;
        this.record = record;
    }

    @Override
    public void update(Progress progress) {
        Instant now = clock.instant();
        // A retried transfer starts its count again; what the watcher sees never goes back.
        percent = Math.max(percent, progress.percent());
        samples.addLast(new Sample(now, progress.doneBytes()));
        while (samples.size() > 2 && samples.peekFirst().at().isBefore(now.minus(WINDOW))) {
            samples.removeFirst();
        }
        boolean first = recordedAt == null;
        boolean step = percent / STEP > recordedPercent / STEP;
        boolean second = !first && !now.isBefore(recordedAt.plus(EVERY));
        if (!(first || step || second) || (percent == 100 && recordedPercent == 100)) {
            return;
        }
        recordedPercent = percent;
        recordedAt = now;
        Long rate = rate();
        long left = Math.max(0, progress.totalBytes() - progress.doneBytes());
        Long eta = null;
        if (left == 0) {
            eta = 0L;
        } else if (rate != null && rate > 0) {
            eta = (left + rate - 1) / rate;
        }
        try {
            record.accept(new Reading(percent, progress.doneBytes(), progress.totalBytes(), rate, eta,
                    progress.path()));
        } catch (RuntimeException e) {
            // A progress event that cannot be stored is not worth failing the download for; the next may be.
        }
    }

    /** Bytes a second between the oldest and newest sample of the window, null until time has passed. */
    private Long rate() {
        Sample first = samples.peekFirst();
        Sample last = samples.peekLast();
        long nanos = Duration.between(first.at(), last.at()).toNanos();
        if (nanos <= 0) {
            return null;
        }
        return Math.max(0, (long) ((last.bytes() - first.bytes()) * 1e9 / nanos));
    }
}
