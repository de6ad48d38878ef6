package dev.serveml.usage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.InstantSource;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Counts answers per credential, model and UTC day in memory, where {@link #record} costs a map
 * update on the answering thread, and adds them to the {@link UsageStore} in one batch every
 * interval on its own thread. A batch that fails to write is kept and tried again with the next;
 * {@link #close} writes what is left, so a clean stop loses nothing. Thread-safe.
 */
public final class UsageLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UsageLog.class);

    /** One slot's identity: the counts add up per slot. The day as a number: no date object per answer. */
    private record Slot(long epochDay, long userId, long keyId, String model) {
    }

    /** A slot's counts so far, replaced (not changed) on each answer so the writer's remove loses none. */
    private record Counts(long requests, long promptTokens, long completionTokens) {
        Counts plus(Counts other) {
            return new Counts(requests + other.requests, promptTokens + other.promptTokens,
                    completionTokens + other.completionTokens);
        }
    }

    private static final long DAY_MILLIS = 86_400_000L;

    private final UsageStore store;
    private final InstantSource clock;
    private final ConcurrentHashMap<Slot, Counts> pending = new ConcurrentHashMap<>();
    private final ScheduledExecutorService writer;
    private volatile boolean failing;

    public UsageLog(UsageStore store, InstantSource clock, Duration interval) {
        this.store = store;
        this.clock = clock;
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "serveml-usage");
            t.setDaemon(true);
            return t;
        });
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.writer = executor;
        long millis = Math.max(1, interval.toMillis());
        writer.scheduleWithFixedDelay(this::write, millis, millis, TimeUnit.MILLISECONDS);
    }

    /**
     * Counts one answer. Never blocks (a map update).
     *
     * @param keyId 0 for a session token
     */
    public void record(long userId, long keyId, String model, long promptTokens, long completionTokens) {
        pending.merge(new Slot(Math.floorDiv(clock.millis(), DAY_MILLIS), userId, keyId, model),
                new Counts(1, Math.max(0, promptTokens), Math.max(0, completionTokens)), Counts::plus);
    }

    /** Writes what was counted so far and waits for it (a reader then sees every answer given). Blocking. */
    public void flush() {
        try {
            writer.submit(this::write).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("usage writer did not drain", e);
        }
    }

    /** Reads usage, counting every answer already given. Blocking. */
    public List<UsageRow> query(UsageQuery query) {
        flush();
        return store.query(query);
    }

    /** Takes the pending counts and adds them to the store; on failure puts them back for the next try. */
    private void write() {
        if (pending.isEmpty()) {
            return;
        }
        List<UsageRow> batch = new ArrayList<>(pending.size());
        List<Slot> slots = new ArrayList<>(pending.size());
        List<Counts> taken = new ArrayList<>(pending.size());
        for (Slot slot : pending.keySet()) {
            // remove, then write: a count merged after the remove makes a new entry for the next batch.
            Counts c = pending.remove(slot);
            if (c != null) {
                slots.add(slot);
                taken.add(c);
                batch.add(new UsageRow(LocalDate.ofEpochDay(slot.epochDay()), slot.userId(), slot.keyId(), slot.model(),
                        c.requests(), c.promptTokens(), c.completionTokens()));
            }
        }
        try {
            store.add(batch);
            if (failing) {
                failing = false;
                log.info("usage counts are written again");
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < slots.size(); i++) {
                pending.merge(slots.get(i), taken.get(i), Counts::plus);
            }
            if (!failing) {
                failing = true;
                log.warn("could not write {} usage counts ({}); they are kept and tried again", batch.size(),
                        e.toString());
            }
        }
    }

    /** Stops the timer and writes what is left (called before the database closes). */
    @Override
    public void close() throws InterruptedException {
        writer.shutdown();
        writer.awaitTermination(10, TimeUnit.SECONDS);
        write();
        if (!pending.isEmpty()) {
            log.error("{} usage counts could not be written before the stop", pending.size());
        }
    }
}
