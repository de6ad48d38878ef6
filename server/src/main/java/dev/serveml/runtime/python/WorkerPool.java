package dev.serveml.runtime.python;

import dev.serveml.inference.Output;
import dev.serveml.inference.Signature;
import dev.serveml.inference.Tensor;
import dev.serveml.inference.TensorSpec;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The workers of one loaded version, seen by the rest of ServeML as one {@link LoadedModel}.
 * Callers borrow an idle worker (waiting at most the request timeout); a worker that dies fails
 * its request with a retryable 503 and is replaced after a backoff; too many deaths in a short
 * time mark the version failed. When every worker has been idle past the idle timeout they are
 * stopped, and the next call starts them again (a cold start, timed in the metrics).
 * Thread-safe.
 */
final class WorkerPool implements LoadedModel {
    private static final Logger log = LoggerFactory.getLogger(WorkerPool.class);
    /** Deaths within {@link #CRASH_WINDOW} that make the version failed. */
    static final int CRASH_LIMIT = 5;
    static final Duration CRASH_WINDOW = Duration.ofMinutes(5);

    /** The settings a pool runs under. */
    record Settings(String model, String label, int size, Duration requestTimeout, Duration idleTimeout) {
    }

    private final Settings settings;
    private final Supplier<Worker> starter;
    private final Signature signature;
    private final Map<String, Object> metadata;
    private final ScheduledExecutorService timers;
    private final Consumer<String> onFailure;
    private final Meters meters;
    private final ScheduledFuture<?> idleCheck;
    private final Runnable onClose;

    private final Deque<Worker> idle = new ArrayDeque<>();
    private final Deque<Long> deaths = new ArrayDeque<>();
    private int running;
    private int starting;
    private long lastUsed = System.nanoTime();
    private String failure;
    private boolean closed;

    WorkerPool(Settings settings, Worker first, Supplier<Worker> starter, Signature signature,
               Map<String, Object> metadata, ScheduledExecutorService timers, Consumer<String> onFailure,
               Meters meters, Runnable onClose) {
        this.onClose = onClose;
        this.settings = settings;
        this.starter = starter;
        this.signature = signature;
        this.metadata = metadata;
        this.timers = timers;
        this.onFailure = onFailure;
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
        Worker worker = borrow();
        boolean healthy = true;
        try {
            List<Tensor> result = worker.predict(inputs, settings.requestTimeout(), timers);
            Map<String, Output> answer = new LinkedHashMap<>();
            for (TensorSpec spec : signature.outputs()) {
                result.stream().filter(t -> t.name().equals(spec.name())).findFirst()
                        .filter(t -> outputs.isEmpty() || outputs.contains(t.name()))
                        .ifPresent(t -> answer.put(t.name(), t));
            }
            for (Tensor t : result) {
                if (!answer.containsKey(t.name()) && signature.findOutput(t.name()).isEmpty()
                        && (outputs.isEmpty() || outputs.contains(t.name()))) {
                    answer.put(t.name(), t);
                }
            }
            return answer;
        } catch (Worker.WorkerDied e) {
            healthy = false;
            died(e.getMessage(), true);
            throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, "the worker serving " + settings.label()
                    + " died during this request; it is being restarted, retry shortly");
        } catch (ProblemException e) {
            if (e.type() == ProblemType.INFERENCE_TIMEOUT) {
                healthy = false;
                replaceAfterTimeout();
            }
            throw e;
        } finally {
            if (healthy) {
                giveBack(worker);
            }
        }
    }

    private Worker borrow() {
        long deadline = System.nanoTime() + settings.requestTimeout().toNanos();
        boolean coldStart = false;
        synchronized (this) {
            while (true) {
                if (failure != null) {
                    throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, settings.label() + " failed: " + failure);
                }
                if (closed) {
                    throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, settings.label() + " was unloaded; retry");
                }
                Worker w = idle.pollFirst();
                if (w != null) {
                    lastUsed = System.nanoTime();
                    return w;
                }
                if (running + starting == 0) {
                    coldStart = true;
                    starting++;
                    break;
                }
                long wait = deadline - System.nanoTime();
                if (wait <= 0) {
                    throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, "all " + settings.size()
                            + " workers of " + settings.label() + " stayed busy for "
                            + settings.requestTimeout().toSeconds() + " s; retry later");
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "interrupted");
                }
            }
        }
        // Cold start: this caller starts the first worker itself and uses it.
        long started = System.nanoTime();
        Worker w;
        try {
            w = starter.get();
        } catch (RuntimeException e) {
            synchronized (this) {
                starting--;
                notifyAll();
            }
            throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, settings.label() + " could not start: "
                    + e.getMessage());
        }
        meters.coldStart(settings.model(), System.nanoTime() - started);
        log.info("[{}] cold start in {} ms", settings.label(), (System.nanoTime() - started) / 1_000_000);
        synchronized (this) {
            starting--;
            running++;
            lastUsed = System.nanoTime();
        }
        for (int i = 1; i < settings.size(); i++) {
            startOne(Duration.ZERO);
        }
        return w;
    }

    private void giveBack(Worker worker) {
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

    /** A worker died (or a replacement did not start: {@code wasRunning} false). */
    private void died(String why, boolean wasRunning) {
        log.warn("[{}] {}", settings.label(), why);
        int recent;
        synchronized (this) {
            if (wasRunning) {
                running--;
            }
            long now = System.nanoTime();
            deaths.addLast(now);
            while (!deaths.isEmpty() && now - deaths.peekFirst() > CRASH_WINDOW.toNanos()) {
                deaths.removeFirst();
            }
            recent = deaths.size();
            if (recent >= CRASH_LIMIT && failure == null) {
                failure = "its workers crashed " + recent + " times within " + CRASH_WINDOW.toMinutes()
                        + " minutes; the last one: " + why;
            }
            notifyAll();
        }
        if (recent >= CRASH_LIMIT) {
            onFailure.accept(failure);
            return;
        }
        // 0.5 s, 1 s, 2 s, ... up to 16 s between restarts as deaths pile up.
        startOne(Duration.ofMillis(Math.min(16_000, 250L << recent)));
    }

    private void replaceAfterTimeout() {
        synchronized (this) {
            running--;
            notifyAll();
        }
        startOne(Duration.ZERO);
    }

    private void startOne(Duration delay) {
        synchronized (this) {
            if (closed || failure != null) {
                return;
            }
            starting++;
        }
        // A platform thread: starting a worker forks a process and waits on it, and the new worker's
        // log readers block for its life; none of that may hold a virtual thread's carrier.
        timers.schedule(() -> Thread.ofPlatform().daemon().name("serveml-worker-start").start(() -> {
            try {
                Worker w = starter.get();
                synchronized (this) {
                    starting--;
                    if (!closed && failure == null) {
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
                died("a replacement worker did not start: " + e.getMessage(), false);
            }
        }), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void stopIfIdle() {
        List<Worker> stopping = new ArrayList<>();
        synchronized (this) {
            boolean allIdle = idle.size() == running && starting == 0 && running > 0;
            if (!allIdle || System.nanoTime() - lastUsed < settings.idleTimeout().toNanos()) {
                return;
            }
            stopping.addAll(idle);
            idle.clear();
            running = 0;
        }
        log.info("[{}] stopping {} idle worker(s)", settings.label(), stopping.size());
        stopping.forEach(Worker::close);
    }

    /** Worker process ids, for tests and diagnostics. */
    synchronized List<Long> pids() {
        return idle.stream().map(Worker::pid).toList();
    }

    @Override
    public void close() {
        List<Worker> stopping;
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
        stopping.forEach(Worker::close);
        onClose.run();
    }
}
