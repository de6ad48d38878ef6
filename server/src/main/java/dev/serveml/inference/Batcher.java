package dev.serveml.inference;

import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import dev.serveml.config.BatchingConfig;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.TokenSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The queue in front of one loaded version. Requests wait here in a bounded queue (a full queue
 * refuses at once with {@code queue-full}); a request whose deadline passes while queued fails
 * with {@code inference-timeout} and never runs. When the model allows it, concurrent requests'
 * rows are stacked into one model call of at most {@code maxBatchSize} rows, which closes when it
 * is full, when its oldest request has waited {@code maxQueueDelay}, or at once when no call of
 * this version is running: an idle model never waits, and the requests that arrive while a call
 * runs form the next batch (so under load batches grow by themselves, and a light load pays no
 * delay). Requests are stacked only with others of the same inputs' shape, outputs, parameters and
 * (when {@code bySize}) the model's {@link LoadedModel#batchGroup size group}, so that short texts do
 * not pay for long ones; the oldest request always starts the next batch, so a group that few
 * requests share is never starved by a busier one. The answer is cut back by each request's rows. At most {@code maxInFlight} calls run at
 * once, on the executor given. Batch jobs' calls wait in a lane of their own, taken only while no
 * online request waits.
 * Knows nothing of HTTP. Thread-safe.
 */
public final class Batcher {
    private static final Logger log = LoggerFactory.getLogger(Batcher.class);

    /**
     * A request's answer with where its time went.
     *
     * @param outputs    outputs by name, in signature order
     * @param queueNanos time spent queued
     * @param runNanos   time of the model call that served it (shared by its whole batch)
     */
    public record Completed(Map<String, Output> outputs, long queueNanos, long runNanos) {
    }

    private static final class Pending {
        final List<Tensor> inputs;
        final Set<String> outputs;
        final Parameters parameters;
        final TokenSink sink;
        final long deadline;
        final long enqueued;
        final String key;
        final long rows;
        final CompletableFuture<Completed> future = new CompletableFuture<>();
        long started;

        Pending(List<Tensor> inputs, Set<String> outputs, Parameters parameters, TokenSink sink, long deadline,
                long enqueued, String key, long rows) {
            this.inputs = inputs;
            this.outputs = outputs;
            this.parameters = parameters;
            this.sink = sink;
            this.deadline = deadline;
            this.enqueued = enqueued;
            this.key = key;
            this.rows = rows;
        }
    }

    private final LoadedModel model;
    private final String modelName;
    private final int version;
    private final BatchingConfig config;
    private final boolean modelBatchable;
    private final int maxInFlight;
    private volatile boolean batchable;
    private int maxBatchSize; // these two change with reconfigure(), under this object's lock
    private long delayNanos;
    /** The model's own scheduler, when it has one: calls go to it, not to {@link #executor}. */
    private final LoadedModel.Scheduled scheduled;
    private final Executor executor;
    private final Ticker ticker;
    private final Meters meters;
    private final Meters.VersionCalls calls;
    private final AtomicInteger depth;
    private final AtomicInteger running;

    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Batch jobs' calls: taken only when no online request waits, never stacked with others. */
    private final ArrayDeque<Pending> background = new ArrayDeque<>();
    private int inFlight;
    private long alarmAt = Long.MAX_VALUE;

    /**
     * @param batchable   whether this model takes rows of several requests in one call (every
     *                    input's first dimension dynamic, or a runtime that stacks rows itself)
     * @param maxInFlight model calls this version may run at once
     */
    public Batcher(LoadedModel model, String modelName, int version, boolean batchable, BatchingConfig config,
                   int maxInFlight, Executor executor, Ticker ticker, Meters meters) {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1");
        }
        this.model = model;
        this.modelName = modelName;
        this.version = version;
        this.config = config;
        this.modelBatchable = batchable;
        this.maxInFlight = maxInFlight;
        this.maxBatchSize = config.maxBatchSize();
        this.delayNanos = config.maxQueueDelay().toNanos();
        this.batchable = batchable && config.enabled();
        this.scheduled = model.scheduled().orElse(null);
        this.executor = executor;
        this.ticker = ticker;
        this.meters = meters;
        this.depth = meters.queueDepth(modelName, version);
        this.running = meters.inFlight(modelName, version);
        this.calls = meters.calls(modelName, version);
    }

    /**
     * Queues a request. Never blocks.
     *
     * @param inputs        validated inputs
     * @param outputs       outputs wanted; empty for all
     * @param deadlineNanos on {@link Ticker#nanoTime()}'s scale: past it, a still-queued request fails
     * @return completes with the outputs, or exceptionally with a {@link ProblemException}
     *         ({@code queue-full} at once when the queue is full, {@code inference-timeout} when the
     *         deadline passes first, or whatever the model raised)
     */
    public CompletableFuture<Map<String, Output>> submit(List<Tensor> inputs, Set<String> outputs, long deadlineNanos) {
        return submitTimed(inputs, outputs, deadlineNanos).thenApply(Completed::outputs);
    }

    /** {@link #submit} with the request's queue and run times. */
    public CompletableFuture<Completed> submitTimed(List<Tensor> inputs, Set<String> outputs, long deadlineNanos) {
        return submitTimed(inputs, outputs, Parameters.NONE, deadlineNanos);
    }

    /**
     * {@link #submitTimed(List, Set, long)} with the call's parameters, which the model has
     * accepted: requests are stacked only with others that have the same ones.
     */
    public CompletableFuture<Completed> submitTimed(List<Tensor> inputs, Set<String> outputs, Parameters parameters,
                                                    long deadlineNanos) {
        return submitTimed(inputs, outputs, parameters, TokenSink.NONE, deadlineNanos);
    }

    /**
     * {@link #submitTimed(List, Set, Parameters, long)} with a sink for the tokens a generating
     * model reports as it goes (a model that schedules its own calls; any other reports none).
     */
    public CompletableFuture<Completed> submitTimed(List<Tensor> inputs, Set<String> outputs, Parameters parameters,
                                                    TokenSink sink, long deadlineNanos) {
        return submitTimed(inputs, outputs, parameters, sink, deadlineNanos, PredictRequest.Lane.ONLINE);
    }

    /**
     * {@link #submitTimed(List, Set, Parameters, TokenSink, long)} in a lane: a {@link
     * PredictRequest.Lane#BATCH} call waits until no online request is queued, so online requests go
     * first; it has a queue of the same capacity of its own, and is never stacked with other calls.
     */
    public CompletableFuture<Completed> submitTimed(List<Tensor> inputs, Set<String> outputs, Parameters parameters,
                                                    TokenSink sink, long deadlineNanos, PredictRequest.Lane lane) {
        long now = ticker.nanoTime();
        boolean online = lane == PredictRequest.Lane.ONLINE;
        String stack = online && batchable && scheduled == null ? Rows.stackKey(inputs, outputs) : null;
        String key = null;
        if (stack != null) {
            int group = config.bySize() ? model.batchGroup(inputs, parameters) : 0;
            key = stack + "\u0000" + parameters.canonical() + (group == 0 ? "" : "\u0000" + group);
        }
        Pending p = new Pending(inputs, outputs, parameters, sink, deadlineNanos, now, key,
                key == null ? 0 : Rows.rowCount(inputs));
        if (deadlineNanos <= now) {
            expire(p);
            return p.future;
        }
        synchronized (this) {
            ArrayDeque<Pending> waiting = online ? queue : background;
            if (waiting.size() >= config.queueCapacity()) {
                meters.rejected(modelName, version, "queue_full");
                p.future.completeExceptionally(new ProblemException(ProblemType.QUEUE_FULL, "the queue of " + modelName
                        + " v" + version + " is full (" + config.queueCapacity() + " requests); retry shortly"));
                return p.future;
            }
            waiting.addLast(p);
            depth.incrementAndGet();
        }
        dispatch();
        return p.future;
    }

    /**
     * Changes how calls are batched from now on (a deployment's config changed); requests already
     * queued are batched under the new limits. Never blocks beyond this queue's lock.
     *
     * @param maxBatchSize  most rows per model call; 1 turns batching off
     * @param maxQueueDelay longest the oldest queued request waits for others
     */
    public void reconfigure(int maxBatchSize, Duration maxQueueDelay) {
        if (maxBatchSize < 1 || maxQueueDelay.isNegative()) {
            throw new IllegalArgumentException("invalid batching settings");
        }
        synchronized (this) {
            this.maxBatchSize = maxBatchSize;
            this.delayNanos = maxQueueDelay.toNanos();
            this.batchable = modelBatchable && maxBatchSize > 1;
        }
        dispatch();
    }

    /** Model calls this version runs at once. */
    public int maxInFlight() {
        return maxInFlight;
    }

    /** Requests waiting, for tests and diagnostics. */
    public synchronized int queued() {
        return queue.size() + background.size();
    }

    /**
     * Fails expired requests, starts every batch that is ready while call slots are free, and sets
     * an alarm for the next moment something will be due.
     */
    private void dispatch() {
        List<Pending> expired = new ArrayList<>();
        List<List<Pending>> ready = new ArrayList<>();
        synchronized (this) {
            long now = ticker.nanoTime();
            for (ArrayDeque<Pending> lane : List.of(queue, background)) {
                for (Iterator<Pending> it = lane.iterator(); it.hasNext(); ) {
                    Pending p = it.next();
                    if (p.deadline <= now) {
                        it.remove();
                        expired.add(p);
                    }
                }
            }
            boolean waiting = false;
            while (inFlight < maxInFlight && (!queue.isEmpty() || !background.isEmpty())) {
                // A batch job's call only while no online request waits, not even one waiting for company.
                List<Pending> batch = queue.isEmpty() ? List.of(background.pollFirst()) : nextBatch(now);
                if (batch == null) {
                    waiting = true;
                    break;
                }
                inFlight++;
                running.incrementAndGet();
                ready.add(batch);
            }
            int started = 0;
            for (List<Pending> batch : ready) {
                started += batch.size();
            }
            depth.addAndGet(-expired.size() - started);
            long next = Long.MAX_VALUE;
            for (Pending p : queue) {
                next = Math.min(next, p.deadline);
            }
            for (Pending p : background) {
                next = Math.min(next, p.deadline);
            }
            if (waiting) {
                next = Math.min(next, queue.peekFirst().enqueued + delayNanos);
            }
            if (next < alarmAt) {
                alarmAt = next;
                ticker.schedule(next - now, this::alarm);
            }
        }
        expired.forEach(this::expire);
        for (List<Pending> batch : ready) {
            if (scheduled != null) {
                runScheduled(batch.getFirst());
                continue;
            }
            try {
                executor.execute(() -> run(batch));
            } catch (RejectedExecutionException e) {
                synchronized (this) {
                    inFlight--;
                    running.decrementAndGet();
                }
                ProblemException stopping = new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                        "the server is shutting down");
                batch.forEach(p -> p.future.completeExceptionally(stopping));
            }
        }
    }

    private void alarm() {
        synchronized (this) {
            alarmAt = Long.MAX_VALUE;
        }
        dispatch();
    }

    /**
     * Takes the next batch off the queue: the oldest request, plus (when stacking) the later ones
     * that share its key while they fit. Returns null when the batch should wait for more rows:
     * it is not full, its oldest request is younger than the delay, and another call is running.
     */
    private List<Pending> nextBatch(long now) {
        Pending head = queue.peekFirst();
        if (head.key == null || head.rows >= maxBatchSize) {
            queue.pollFirst();
            return List.of(head);
        }
        List<Pending> batch = new ArrayList<>();
        long rows = 0;
        boolean full = false;
        for (Pending p : queue) {
            if (!head.key.equals(p.key)) {
                continue;
            }
            if (rows + p.rows > maxBatchSize) {
                full = true;
                break;
            }
            batch.add(p);
            rows += p.rows;
            if (rows == maxBatchSize) {
                full = true;
                break;
            }
        }
        if (!full && inFlight > 0 && now - head.enqueued < delayNanos) {
            return null;
        }
        queue.removeAll(batch);
        return batch;
    }

    private void expire(Pending p) {
        meters.rejected(modelName, version, "timeout");
        p.future.completeExceptionally(new ProblemException(ProblemType.INFERENCE_TIMEOUT, "the request's deadline "
                + "passed while it waited for " + modelName + " v" + version + "; it was not run"));
    }

    private void run(List<Pending> batch) {
        try {
            long started = ticker.nanoTime();
            for (Pending p : batch) {
                p.started = started;
                calls.queued(started - p.enqueued);
            }
            if (batch.size() == 1) {
                runAlone(batch.get(0));
            } else {
                runStacked(batch);
            }
        } catch (RuntimeException | Error e) {
            batch.forEach(p -> p.future.completeExceptionally(e));
        } finally {
            synchronized (this) {
                inFlight--;
                running.decrementAndGet();
            }
            dispatch();
        }
    }

    /** Hands a call to a model that schedules its own; it is in flight until its future completes. */
    private void runScheduled(Pending p) {
        long started = ticker.nanoTime();
        p.started = started;
        calls.queued(started - p.enqueued);
        CompletableFuture<Map<String, Output>> call;
        try {
            call = scheduled.submit(p.inputs, p.outputs, p.parameters, p.sink);
        } catch (RuntimeException e) {
            call = CompletableFuture.failedFuture(e);
        }
        call.whenComplete((answer, failure) -> {
            synchronized (this) {
                inFlight--;
                running.decrementAndGet();
            }
            if (failure != null) {
                p.future.completeExceptionally(failure instanceof java.util.concurrent.CompletionException c
                        && c.getCause() != null ? c.getCause() : failure);
            } else {
                long took = ticker.nanoTime() - started;
                record(Rows.rowCount(p.inputs), took);
                p.future.complete(new Completed(answer, p.started - p.enqueued, took));
            }
            dispatch();
        });
    }

    private void runAlone(Pending p) {
        long started = ticker.nanoTime();
        try {
            Map<String, Output> answer = model.infer(p.inputs, p.outputs, p.parameters);
            long took = ticker.nanoTime() - started;
            record(Rows.rowCount(p.inputs), took);
            p.future.complete(new Completed(answer, p.started - p.enqueued, took));
        } catch (RuntimeException e) {
            p.future.completeExceptionally(e);
        }
    }

    private void runStacked(List<Pending> batch) {
        long[] rows = new long[batch.size()];
        List<List<Tensor>> inputs = new ArrayList<>(batch.size());
        long total = 0;
        for (int i = 0; i < rows.length; i++) {
            rows[i] = batch.get(i).rows;
            total += rows[i];
            inputs.add(batch.get(i).inputs);
        }
        long started = ticker.nanoTime();
        Map<String, Output> answer;
        try {
            answer = model.infer(Rows.stack(inputs), batch.get(0).outputs, batch.get(0).parameters);
        } catch (ProblemException e) {
            if (e.type() != ProblemType.INFERENCE_FAILED && e.type() != ProblemType.MODEL_ERROR) {
                throw e;
            }
            // One request's rows may be what the model chokes on: let only that one fail.
            log.debug("{} v{}: a stacked call of {} rows failed ({}); running its requests one by one", modelName,
                    version, total, e.detail());
            batch.forEach(this::runAlone);
            return;
        }
        long took = ticker.nanoTime() - started;
        List<Map<String, Output>> answers = Rows.split(answer, rows);
        if (answers == null) {
            log.debug("{} v{}: outputs are not one per row; running {} requests one by one", modelName, version,
                    batch.size());
            batch.forEach(this::runAlone);
            return;
        }
        record(total, took);
        for (int i = 0; i < rows.length; i++) {
            Pending p = batch.get(i);
            p.future.complete(new Completed(answers.get(i), p.started - p.enqueued, took));
        }
    }

    private void record(long rows, long nanos) {
        calls.ran((int) Math.max(1, rows), nanos);
    }
}
