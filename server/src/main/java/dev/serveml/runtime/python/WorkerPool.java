package dev.serveml.runtime.python;

import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadedModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The workers of one loaded version, seen by the rest of ServeML as one {@link LoadedModel}.
 * Callers borrow an idle worker (waiting at most the request timeout). A worker that dies is
 * replaced after a backoff, and the request it was serving is tried once more on another worker
 * (predictions are idempotent); only a second death fails it, with a retryable 503.
 *
 * <p>Deaths are watched by a circuit breaker: {@link #CRASH_LIMIT} within {@link #CRASH_WINDOW}
 * open it. While open, calls are refused at once (503 with {@code Retry-After}) and no worker is
 * restarted; after the cool-down ({@link #FIRST_COOLDOWN}, doubling on each failed probe up to
 * {@link #MAX_COOLDOWN}) it is half-open: one call is let through as a probe (starting a worker
 * if none is left). A probe that is answered, even with the model's own error, closes the circuit;
 * a probe whose worker dies opens it again. A version is never failed for good by crashes.
 *
 * <p>When every worker has been idle past the idle timeout they are stopped, and the next call
 * starts them again (a cold start, timed in the metrics). Thread-safe.
 *
 * <p>Crashes, cool-downs and idleness are timed on an injected clock ({@code System::nanoTime} in
 * production, a fake in WorkerPoolTest); a wait for a busy worker is a real wait on the system's.
 * Background starts run on an injected executor (a platform thread each in production).
 */
final class WorkerPool implements LoadedModel {
    private static final Logger log = LoggerFactory.getLogger(WorkerPool.class);
    /** Deaths within {@link #CRASH_WINDOW} that open the circuit. */
    static final int CRASH_LIMIT = 5;
    static final Duration CRASH_WINDOW = Duration.ofMinutes(5);
    static final Duration FIRST_COOLDOWN = Duration.ofSeconds(5);
    static final Duration MAX_COOLDOWN = Duration.ofMinutes(5);

    /** The circuit breaker's states; see the class comment. */
    private enum Circuit { CLOSED, OPEN, HALF_OPEN }

    /** What the pool needs of a worker: {@link Worker}'s process, or WorkerPoolTest's fake. */
    interface Member extends AutoCloseable {
        /** See {@link Worker#predict}: a death is {@link Worker.WorkerDied}, a model's error a {@link ProblemException}. */
        List<Tensor> predict(List<Tensor> inputs, Duration timeout, ScheduledExecutorService timers)
                throws Worker.WorkerDied;

        long pid();

        @Override
        void close();
    }

    /** A borrowed worker, and whether the call on it is the half-open probe. */
    private record Borrowed(Member worker, boolean probe) {
    }

    /** The settings a pool runs under. */
    record Settings(String model, String label, int size, Duration requestTimeout, Duration idleTimeout) {
    }

    private final Settings settings;
    private final Supplier<? extends Member> starter;
    private final Signature signature;
    private final Map<String, Object> metadata;
    private final ScheduledExecutorService timers;
    private final Meters meters;
    private final ScheduledFuture<?> idleCheck;
    private final Runnable onClose;
    private final LongSupplier clock;
    private final Executor starts;

    private final Deque<Member> idle = new ArrayDeque<>();
    private final Deque<Long> deaths = new ArrayDeque<>();
    private int running;
    private int starting;
    private long lastUsed;
    private Circuit circuit = Circuit.CLOSED;
    private long openUntil;
    private Duration cooldown = FIRST_COOLDOWN;
    private boolean probing;
    private String lastDeath;
    private boolean closed;

    WorkerPool(Settings settings, Member first, Supplier<? extends Member> starter, Signature signature,
               Map<String, Object> metadata, ScheduledExecutorService timers,
               Meters meters, Runnable onClose) {
        // A platform thread: starting a worker forks a process and waits on it, and the new worker's
        // log readers block for its life; none of that may hold a virtual thread's carrier.
        this(settings, first, starter, signature, metadata, timers, meters, onClose, System::nanoTime,
                start -> Thread.ofPlatform().daemon().name("serveml-worker-start").start(start));
    }

    /**
     * @param clock  nanoseconds on {@link System#nanoTime()}'s scale: times crashes, cool-downs and idleness
     * @param starts runs each background start of a worker (after its backoff on {@code timers})
     */
    WorkerPool(Settings settings, Member first, Supplier<? extends Member> starter, Signature signature,
               Map<String, Object> metadata, ScheduledExecutorService timers,
               Meters meters, Runnable onClose, LongSupplier clock, Executor starts) {
        this.clock = clock;
        this.starts = starts;
        this.lastUsed = clock.getAsLong();
        this.onClose = onClose;
        this.settings = settings;
        this.starter = starter;
        this.signature = signature;
        this.metadata = metadata;
        this.timers = timers;
        this.meters = meters;
        synchronized (this) {
            idle.add(first);
            running = 1;
        }
        for (int i = 1; i < settings.size(); i++) {
            startOne(Duration.ZERO);
        }
        long every = Math.max(1_000, settings.idleTimeout().toMillis() / 4);
        this.idleCheck = settings.idleTimeout().isZero() ? null
                : timers.scheduleWithFixedDelay(this::stopIfIdle, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public Signature signature() {
        return signature;
    }

    @Override
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** Python handlers take a batch of rows and answer one per row; a misfit is caught when splitting. */
    @Override
    public boolean batchable() {
        return true;
    }

    @Override
    public long memoryBytes() {
        return 256L << 20;
    }

    @Override
    public int concurrency() {
        return settings.size();
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
        try {
            return select(attempt(inputs), outputs);
        } catch (Worker.WorkerDied first) {
            // Its worker died under it; the request itself may be fine: once more, on another worker.
            try {
                return select(attempt(inputs), outputs);
            } catch (Worker.WorkerDied second) {
                throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, "the workers serving " + settings.label()
                        + " died during this request (tried twice); they are being restarted, retry shortly");
            }
        }
    }

    /** One try on one worker; a death is recorded before it is thrown. */
    private List<Tensor> attempt(List<Tensor> inputs) throws Worker.WorkerDied {
        Borrowed borrowed = borrow();
        Member worker = borrowed.worker();
        boolean healthy = true;
        try {
            List<Tensor> result = worker.predict(inputs, settings.requestTimeout(), timers);
            answered(borrowed);
            return result;
        } catch (Worker.WorkerDied e) {
            healthy = false;
            died(e.getMessage(), true, borrowed.probe());
            throw e;
        } catch (ProblemException e) {
            if (e.type() == ProblemType.INFERENCE_TIMEOUT) {
                healthy = false;
                replaceAfterTimeout(borrowed.probe());
            } else {
                answered(borrowed); // the model refused or raised, and its worker lives on
            }
            throw e;
        } finally {
            if (healthy) {
                giveBack(worker);
            }
        }
    }

    /** The worker's tensors in signature order, and the ones a handler returns beyond its signature after them. */
    private Map<String, Output> select(List<Tensor> result, Set<String> outputs) {
        return signature.<Output>inOutputOrder(result, Output::name, outputs, true);
    }

    /** A call was answered: a half-open probe that succeeds closes the circuit and refills the pool. */
    private void answered(Borrowed borrowed) {
        if (!borrowed.probe()) {
            return;
        }
        int missing;
        synchronized (this) {
            circuit = Circuit.CLOSED;
            probing = false;
            cooldown = FIRST_COOLDOWN;
            deaths.clear();
            missing = settings.size() - running - starting;
            notifyAll();
        }
        log.info("[{}] the probe call was answered: the circuit is closed again", settings.label());
        for (int i = 0; i < missing; i++) {
            startOne(Duration.ZERO);
        }
    }

    /**
     * Why calls are refused right now (the circuit is open), or empty. Shown by readiness.
     */
    @Override
    public synchronized Optional<String> unavailable() {
        if (circuit == Circuit.CLOSED) {
            return Optional.empty();
        }
        return Optional.of("its workers crashed " + CRASH_LIMIT + " times within "
                + CRASH_WINDOW.toMinutes() + " minutes (the last: " + lastDeath + "); "
                + (circuit == Circuit.OPEN ? "calls are refused for " + secondsUntil(openUntil) + " s more, then one "
                + "call probes it" : "a probe call is being let through"));
    }

    private long secondsUntil(long nanos) {
        return Math.max(1, TimeUnit.NANOSECONDS.toSeconds(nanos - clock.getAsLong() + 999_999_999L));
    }

    /** Refuses a call while the circuit is open; in the half-open state lets exactly one through. */
    private boolean admit() {
        if (circuit == Circuit.OPEN && clock.getAsLong() - openUntil >= 0) {
            circuit = Circuit.HALF_OPEN;
            probing = false;
        }
        if (circuit == Circuit.CLOSED) {
            return false;
        }
        if (circuit == Circuit.HALF_OPEN && !probing) {
            probing = true;
            return true;
        }
        long retry = circuit == Circuit.OPEN ? secondsUntil(openUntil) : 1;
        throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, settings.label() + " is not taking calls: its "
                + "workers crashed " + CRASH_LIMIT + " times within " + CRASH_WINDOW.toMinutes() + " minutes (the "
                + "last: " + lastDeath + "); retry in " + retry + " s").retryAfter(retry);
    }

    private Borrowed borrow() {
        long deadline = System.nanoTime() + settings.requestTimeout().toNanos();
        boolean coldStart = false;
        boolean probe;
        synchronized (this) {
            probe = admit();
            while (true) {
                if (closed) {
                    if (probe) {
                        probing = false;
                    }
                    throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, settings.label() + " was unloaded; retry");
                }
                Member w = idle.pollFirst();
                if (w != null) {
                    lastUsed = clock.getAsLong();
                    return new Borrowed(w, probe);
                }
                if (running + starting == 0) {
                    coldStart = true;
                    starting++;
                    break;
                }
                long wait = deadline - System.nanoTime();
                if (wait <= 0) {
                    if (probe) {
                        probing = false;
                    }
                    throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, "all " + settings.size()
                            + " workers of " + settings.label() + " stayed busy for "
                            + settings.requestTimeout().toSeconds() + " s; retry later");
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    if (probe) {
                        probing = false;
                    }
                    throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "interrupted");
                }
                if (!probe && circuit != Circuit.CLOSED) {
                    admit(); // it opened while this call waited: refuse it now rather than at its deadline
                }
            }
        }
        // Cold start: this caller starts the first worker itself and uses it.
        long started = System.nanoTime();
        Member w;
        try {
            w = starter.get();
        } catch (RuntimeException e) {
            synchronized (this) {
                starting--;
                notifyAll();
            }
            died("a worker did not start: " + e.getMessage(), false, probe);
            throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, settings.label() + " could not start: "
                    + e.getMessage());
        }
        meters.coldStart(settings.model(), System.nanoTime() - started);
        log.info("[{}] cold start in {} ms", settings.label(), (System.nanoTime() - started) / 1_000_000);
        synchronized (this) {
            starting--;
            running++;
            lastUsed = clock.getAsLong();
        }
        if (!probe) {
            for (int i = 1; i < settings.size(); i++) {
                startOne(Duration.ZERO);
            }
        }
        return new Borrowed(w, probe);
    }

    private void giveBack(Member worker) {
        boolean close;
        synchronized (this) {
            close = closed;
            if (close) {
                running--;
            } else {
                idle.addLast(worker);
                notifyAll();
            }
        }
        if (close) {
            worker.close();
        }
    }

    /**
     * A worker died (or one did not start: {@code wasRunning} false). Opens the circuit past the
     * crash limit, or when the half-open probe died; otherwise schedules a replacement.
     */
    private void died(String why, boolean wasRunning, boolean probe) {
        log.warn("[{}] {}", settings.label(), why);
        int recent;
        boolean open = false;
        synchronized (this) {
            if (wasRunning) {
                running--;
            }
            lastDeath = why;
            long now = clock.getAsLong();
            deaths.addLast(now);
            while (!deaths.isEmpty() && now - deaths.peekFirst() > CRASH_WINDOW.toNanos()) {
                deaths.removeFirst();
            }
            recent = deaths.size();
            if (probe && circuit == Circuit.HALF_OPEN) {
                cooldown = cooldown.multipliedBy(2).compareTo(MAX_COOLDOWN) > 0 ? MAX_COOLDOWN
                        : cooldown.multipliedBy(2);
                open = true;
            } else if (circuit == Circuit.CLOSED && recent >= CRASH_LIMIT) {
                open = true;
            }
            if (open) {
                circuit = Circuit.OPEN;
                probing = false;
                openUntil = now + cooldown.toNanos();
            }
            notifyAll();
        }
        if (open) {
            log.warn("[{}] circuit open for {} s after {} crashes; the last: {}", settings.label(),
                    cooldown.toSeconds(), recent, why);
            return;
        }
        // 0.5 s, 1 s, 2 s, ... up to 16 s between restarts as deaths pile up.
        startOne(Duration.ofMillis(Math.min(16_000, 250L << Math.min(recent, 6))));
    }

    private void replaceAfterTimeout(boolean probe) {
        synchronized (this) {
            running--;
            if (probe) {
                probing = false; // a slow answer says nothing about crashes: let the next call probe
            }
            notifyAll();
        }
        startOne(Duration.ZERO);
    }

    private void startOne(Duration delay) {
        synchronized (this) {
            if (closed || circuit != Circuit.CLOSED) {
                return; // an open circuit restarts nothing; its probe starts what it needs
            }
            starting++;
        }
        timers.schedule(() -> starts.execute(() -> {
            synchronized (this) {
                if (closed || circuit != Circuit.CLOSED) {
                    starting--; // it opened during the backoff
                    notifyAll();
                    return;
                }
            }
            try {
                Member w = starter.get();
                synchronized (this) {
                    starting--;
                    if (!closed) {
                        running++;
                        idle.addLast(w);
                        notifyAll();
                        return;
                    }
                }
                w.close();
            } catch (RuntimeException e) {
                synchronized (this) {
                    starting--;
                }
                died("a replacement worker did not start: " + e.getMessage(), false, false);
            }
        }), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void stopIfIdle() {
        List<Member> stopping = new ArrayList<>();
        synchronized (this) {
            boolean allIdle = idle.size() == running && starting == 0 && running > 0;
            if (!allIdle || clock.getAsLong() - lastUsed < settings.idleTimeout().toNanos()) {
                return;
            }
            stopping.addAll(idle);
            idle.clear();
            running = 0;
        }
        log.info("[{}] stopping {} idle worker(s)", settings.label(), stopping.size());
        stopping.forEach(Member::close);
    }

    /** Worker process ids, for tests and diagnostics. */
    synchronized List<Long> pids() {
        return idle.stream().map(Member::pid).toList();
    }

    @Override
    public void close() {
        List<Member> stopping;
        synchronized (this) {
            closed = true;
            stopping = new ArrayList<>(idle);
            running -= idle.size();
            idle.clear();
            notifyAll();
        }
        if (idleCheck != null) {
            idleCheck.cancel(false);
        }
        stopping.forEach(Member::close);
        onClose.run();
    }
}
