package dev.serveml.stats;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One key's rolling window: a ring of buckets indexed by step number (time / step). A slot
 * holds the bucket of one step; a call in a later step replaces it with a fresh bucket by
 * compare-and-set, so recording takes no lock and allocates once per step. Thread-safe.
 */
final class Series {
    static final int REQUESTS = 0;
    static final int SERVER_ERRORS = 1;
    static final int CLIENT_ERRORS = 2;
    static final int CACHE_HITS = 3;
    private static final int HISTOGRAM = 4;

    /** One step's counters: the four counts, then the latency bins of successful calls. */
    static final class Bucket {
        final long step;
        final AtomicLongArray counts = new AtomicLongArray(HISTOGRAM + LatencyBins.COUNT);

        Bucket(long step) {
            this.step = step;
        }

        long count(int which) {
            return counts.get(which);
        }

        /** Adds this bucket's latency bins into {@code into}. */
        void addLatencies(long[] into) {
            for (int i = 0; i < into.length; i++) {
                into[i] += counts.get(HISTOGRAM + i);
            }
        }
    }

    private final AtomicReferenceArray<Bucket> ring;
    /** The last step recorded, so idle series can be found without reading their buckets. */
    private volatile long lastStep;

    Series(int slots, long step) {
        this.ring = new AtomicReferenceArray<>(slots);
        this.lastStep = step;
    }

    long lastStep() {
        return lastStep;
    }

    void record(long step, long latencyNanos, int status, boolean cacheHit) {
        Bucket b = bucket(step);
        if (b == null) {
            return;
        }
        b.counts.incrementAndGet(REQUESTS);
        if (status >= 500) {
            b.counts.incrementAndGet(SERVER_ERRORS);
        } else if (status >= 400) {
            b.counts.incrementAndGet(CLIENT_ERRORS);
        } else {
            if (cacheHit) {
                b.counts.incrementAndGet(CACHE_HITS);
            }
            b.counts.incrementAndGet(HISTOGRAM + LatencyBins.of(latencyNanos));
        }
        if (step > lastStep) {
            lastStep = step; // a benign race: any recent step keeps the series alive
        }
    }

    /** The bucket of this step, made if the slot holds an older one; null if it holds a newer one. */
    private Bucket bucket(long step) {
        int slot = (int) Math.floorMod(step, (long) ring.length());
        while (true) {
            Bucket b = ring.get(slot);
            if (b != null && b.step == step) {
                return b;
            }
            if (b != null && b.step > step) {
                return null; // a call that finished across a whole window late; not worth a bucket
            }
            Bucket fresh = new Bucket(step);
            if (ring.compareAndSet(slot, b, fresh)) {
                return fresh;
            }
        }
    }

    /** The bucket of this step, or null if nothing was recorded in it (or it has been overwritten). */
    Bucket read(long step) {
        Bucket b = ring.get((int) Math.floorMod(step, (long) ring.length()));
        return b != null && b.step == step ? b : null;
    }
}
