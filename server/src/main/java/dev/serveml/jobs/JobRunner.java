package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.artifacts.ArtifactStore;
import dev.serveml.config.JobsConfig;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.inference.Target;
import dev.serveml.metrics.Meters;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Works the job queue: platform threads that split queued jobs' inputs into chunks and score chunks,
 * any job's, here or on another replica; a timer that renews the leases they hold and keeps the
 * queue tidy (cancels settled, retention, the gauges). Each chunk's rows go to the model as one
 * call through the one way in ({@link Predictor}) in the batch lane; a call the model refuses for
 * its input (400 or 422) is split in halves until the rows at fault are found, and only they fail;
 * a model that cannot be served fails the job with the reason, after retries while it is only busy.
 * A job of request lines ({@link JobSpec.Lines}) makes one call per line, decoded and answered by
 * {@link RequestLines}; a line at fault (unreadable, a route not served, a body or input the model
 * refuses: any 4xx) fails that line only.
 */
public final class JobRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
    /** How often an idle worker looks for work another replica queued (a job queued here wakes it at once). */
    private static final long POLL_MILLIS = 500;
    /** A chunk claimed this many times without being committed (it stops its worker) fails its job. */
    static final int MAX_ATTEMPTS = 5;
    /** How long a job's model call may wait and run: longer than an online call's, it waits behind them. */
    private static final Duration CALL_TIMEOUT = Duration.ofMinutes(5);
    /**
     * The most characters of row text one chunk holds, whatever its rows per call: a chunk is read
     * whole into memory to be bound and scored, and rows may be long ({@link Jobs#MAX_ROW_CHARS}).
     */
    static final long MAX_CHUNK_CHARS = 4L << 20;
    /** Waits between tries of a call the model could not take (busy, unavailable), about 2 minutes in all. */
    private static final long[] BACKOFF_MILLIS = {250, 500, 1000, 2000, 4000, 8000, 15000, 30000, 30000, 30000};

    private final JobStore store;
    private final ArtifactStore artifacts;
    private final Predictor predictor;
    private final RequestLines lines;
    private final JobsConfig config;
    private final int callsPerModel;
    private final ObjectMapper json;
    private final Path staging;
    private final Meters meters;
    private final InstantSource clock;
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    private final Map<String, Semaphore> calls = new ConcurrentHashMap<>();
    /** Jobs whose submitter was found entitled, until when (System.nanoTime). */
    private final Map<String, Long> vouched = new ConcurrentHashMap<>();
    private final Object signal = new Object();
    private final List<Thread> workers = new ArrayList<>();
    private final ScheduledExecutorService timer;
    private final AtomicReference<Map<String, Long>> counts = new AtomicReference<>(Map.of());
    private volatile long openChunks;
    private volatile boolean stopping;
    private boolean signalled;

    /**
     * @param instances the instances a model has (its concurrency), of which jobs keep at most
     *                  {@link JobsConfig#sharePercent} busy
     * @param staging   a directory for files being written before they go to the artifact store
     * @param lines     the codecs of request lines, for the jobs that have them
     */
    public JobRunner(JobStore store, ArtifactStore artifacts, Predictor predictor, RequestLines lines, JobsConfig config,
                     int instances, ObjectMapper json, Path staging, Meters meters, InstantSource clock) {
        this.store = store;
        this.artifacts = artifacts;
        this.predictor = predictor;
        this.lines = lines;
        this.config = config;
        this.callsPerModel = config.callsPerModel(instances);
        this.json = json;
        this.staging = staging;
        this.meters = meters;
        this.clock = clock;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "serveml-job-leases");
            t.setDaemon(true);
            return t;
        });
        try {
            Files.createDirectories(staging);
            try (var leftovers = Files.list(staging)) {
                for (Path p : leftovers.toList()) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the job staging directory " + staging, e);
        }
        meters.jobGauges(counts::get, () -> openChunks);
    }

    /** Starts the workers and the lease timer. */
    public void start() {
        long renewMillis = Math.max(100, config.lease().toMillis() / 3);
        timer.scheduleWithFixedDelay(this::renew, renewMillis, renewMillis, TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::maintain, 0, 2, TimeUnit.SECONDS);
        for (int i = 0; i < config.workers(); i++) {
            Thread t = new Thread(this::work, "serveml-job-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
    }

    /** There is work: an idle worker looks now rather than at its next poll. */
    public void wake() {
        synchronized (signal) {
            signalled = true;
            signal.notifyAll();
        }
    }

    private void work() {
        while (!stopping) {
            try {
                if (!step()) {
                    synchronized (signal) {
                        if (!signalled && !stopping) {
                            signal.wait(POLL_MILLIS);
                        }
                        signalled = false;
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (stopping) {
                    return;
                }
                // The database is down, or a bug: the work stays in the queue, under a lease that lapses.
                log.warn("job worker: {}", e.toString());
                sleep(POLL_MILLIS * 4);
            }
        }
    }

    /** Does one piece of work, a chunk before a split (started jobs finish first); false when there was none. */
    boolean step() throws InterruptedException {
        String lease = UUID.randomUUID().toString();
        held.add(lease);
        try {
            Optional<JobStore.Claimed> chunk = store.claimChunk(lease, config.lease());
            if (chunk.isPresent()) {
                score(chunk.get());
                return true;
            }
            Optional<Job> split = store.claimSplit(lease, config.lease());
            if (split.isPresent()) {
                split(split.get(), lease);
                wake();
                return true;
            }
            return false;
        } finally {
            held.remove(lease);
        }
    }

    // ---- the split: the input read once, into chunks of rows ----

    private void split(Job job, String lease) {
        if (revoked(job)) {
            return;
        }
        Set<Integer> recorded = store.chunkIndexes(job.id());
        long rows = 0;
        int index = 0;
        List<InputRow> chunk = new ArrayList<>(Math.min(job.spec().rowsPerCall(), 4096));
        long firstLine = 0;
        long chars = 0;
        try (InputStream in = Files.newInputStream(artifacts.localPath(job.inputKey()));
             RowReader reader = RowReader.open(job.spec().input(), in, json, Jobs.MAX_ROW_CHARS)) {
            for (Optional<InputRow> row = reader.next(); row.isPresent(); row = reader.next()) {
                if (chunk.isEmpty()) {
                    firstLine = row.get().line();
                }
                chunk.add(row.get());
                chars += chars(row.get());
                rows++;
                if (chunk.size() == job.spec().rowsPerCall() || chars >= MAX_CHUNK_CHARS) {
                    if (!recordChunk(job, lease, index, firstLine, chunk, recorded)) {
                        giveUp(lease);
                        return;
                    }
                    index++;
                    chunk.clear();
                    chars = 0;
                }
            }
            if (!chunk.isEmpty()) {
                if (!recordChunk(job, lease, index, firstLine, chunk, recorded)) {
                    giveUp(lease);
                    return;
                }
                index++;
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("job {}: its input cannot be read: {}", job.id(), e.toString());
            store.fail(job.id(), JobProblem.of(ProblemType.INTERNAL, "the job's input file could not be read"),
                    config.retention());
            return;
        }
        store.finishSplit(job.id(), lease, rows, index, config.retention());
    }

    /** About how many characters a row holds (its values' text), for the chunk bound. */
    static long chars(InputRow row) {
        return switch (row) {
            case InputRow.Bad b -> b.detail().length();
            case InputRow.Values v -> {
                long n = 0;
                for (Map.Entry<String, JsonNode> e : v.fields().entrySet()) {
                    n += e.getKey().length() + chars(e.getValue());
                }
                yield n;
            }
        };
    }

    private static long chars(JsonNode node) {
        if (node.isTextual()) {
            return node.textValue().length() + 2;
        }
        if (node.isContainerNode()) {
            long n = 2;
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                n += e.getKey().length() + 3 + chars(e.getValue());
            }
            if (node.isArray()) {
                for (JsonNode element : node) {
                    n += 1 + chars(element);
                }
            }
            return n;
        }
        return 8;
    }

    /**
     * A split that stops before the end (the job is being cancelled, or this server stops) gives its
     * lease up at once: a cancelled job settles, a stopping server's split is taken over, without
     * waiting for the lease to lapse.
     */
    private void giveUp(String lease) {
        try {
            store.release(Set.of(lease));
        } catch (RuntimeException e) {
            log.warn("a split's lease not given back (it lapses in {}): {}", config.lease(), e.toString());
        }
    }

    /** Writes a chunk's rows and records it, unless an earlier split did; false once the split is not ours. */
    private boolean recordChunk(Job job, String lease, int index, long firstLine, List<InputRow> rows,
                                Set<Integer> recorded) throws IOException {
        if (recorded.contains(index)) {
            return !stopping;
        }
        String key = Job.prefix(job.id()) + "in/" + index;
        if (!artifacts.exists(key)) {
            Path file = Files.createTempFile(staging, "in-", ".part");
            try {
                ChunkRows.write(file, rows, json);
                artifacts.put(key, file);
            } finally {
                Files.deleteIfExists(file);
            }
        }
        return store.addChunk(job.id(), lease, new JobStore.Chunk(index, firstLine, rows.size(), key)) && !stopping;
    }

    /** Fails the job when its submitter may no longer have it run; true then. Asked at most once a second per job. */
    private boolean revoked(Job job) {
        long now = System.nanoTime();
        Long until = vouched.get(job.id());
        if (until != null && until - now > 0) {
            return false;
        }
        Optional<String> why = store.callerRevoked(job);
        if (why.isEmpty()) {
            if (vouched.size() > 10_000) {
                vouched.clear();
            }
            vouched.put(job.id(), now + 1_000_000_000L);
        }
        if (why.isPresent() && store.fail(job.id(), JobProblem.of(ProblemType.INVALID_API_KEY, why.get()
                + "; the rows done so far are kept"), config.retention())) {
            log.info("job {} failed: {}", job.id(), why.get());
        }
        return why.isPresent();
    }

    // ---- scoring a chunk ----

    /** The model cannot serve the job: it fails, with this reason. */
    private static final class Unservable extends Exception {
        final JobProblem problem;

        Unservable(JobProblem problem) {
            super(problem.detail(), null, false, false);
            this.problem = problem;
        }
    }

    private void score(JobStore.Claimed claimed) throws InterruptedException {
        Job job = claimed.job();
        JobStore.Chunk chunk = claimed.chunk();
        if (revoked(job)) {
            return;
        }
        if (claimed.attempts() > MAX_ATTEMPTS) {
            store.fail(job.id(), JobProblem.of(ProblemType.INFERENCE_FAILED, "the rows from line " + chunk.firstLine()
                    + " were tried " + MAX_ATTEMPTS + " times and stopped their worker each time"), config.retention());
            return;
        }
        List<InputRow> rows = ChunkRows.read(artifacts.localPath(chunk.inputKey()), json);
        if (job.spec().lines() != null) {
            scoreLines(claimed, rows);
            return;
        }
        List<ResultWriter.Failure> failures = new ArrayList<>();
        List<InputRow.Values> values = new ArrayList<>(rows.size());
        for (InputRow row : rows) {
            switch (row) {
                case InputRow.Values v -> values.add(v);
                case InputRow.Bad b -> failures.add(new ResultWriter.Failure(b.line(), Map.of(),
                        JobProblem.of(ProblemType.INVALID_INPUT, "line " + b.line() + ": " + b.detail())));
            }
        }
        List<ResultWriter.Answered> answered = new ArrayList<>();
        try {
            answer(job, values, answered, failures);
        } catch (Unservable e) {
            if (store.fail(job.id(), e.problem, config.retention())) {
                log.info("job {} failed: {}", job.id(), e.problem.detail());
            }
            return;
        }
        failures.sort(Comparator.comparingLong(ResultWriter.Failure::line));
        int done = answered.stream().mapToInt(a -> a.rows().size()).sum();
        commit(claimed, done, failures.size(),
                file -> ResultWriter.results(file, job.spec().output(), job.binding(), answered, json),
                file -> ResultWriter.failures(file, failures, json));
    }

    /**
     * Writes a scored chunk's part of the result ({@code done} rows, by {@code output}) and of the
     * errors ({@code failed} rows, by {@code errors}) and commits it; a part that cannot be written
     * gives the chunk back to be scored again.
     */
    private void commit(JobStore.Claimed claimed, int done, int failed, Writing output, Writing errors) {
        Job job = claimed.job();
        JobStore.Chunk chunk = claimed.chunk();
        String suffix = "/" + chunk.index() + "-" + claimed.lease();
        String outputKey = done == 0 ? null : Job.prefix(job.id()) + "out" + suffix;
        String errorsKey = failed == 0 ? null : Job.prefix(job.id()) + "err" + suffix;
        try {
            if (outputKey != null) {
                stage(outputKey, output);
            }
            if (errorsKey != null) {
                stage(errorsKey, errors);
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("job {}: chunk {} could not be written: {}", job.id(), chunk.index(), e.toString());
            discard(outputKey, errorsKey);
            store.releaseChunk(job.id(), chunk.index(), claimed.lease());
            sleep(POLL_MILLIS * 4);
            return;
        }
        if (store.commitChunk(job.id(), chunk.index(), claimed.lease(), done, failed, outputKey, errorsKey,
                config.retention())) {
            meters.jobRows("done", done);
            meters.jobRows("failed", failed);
        } else {
            // The lease lapsed and another worker took the chunk: its answer counts, not this one.
            discard(outputKey, errorsKey);
        }
    }

    private interface Writing {
        void write(Path file) throws IOException;
    }

    private void stage(String key, Writing writing) throws IOException {
        Path file = Files.createTempFile(staging, "out-", ".part");
        try {
            writing.write(file);
            artifacts.put(key, file);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private void discard(String... keys) {
        for (String key : keys) {
            if (key != null) {
                try {
                    artifacts.delete(key);
                } catch (RuntimeException e) {
                    log.warn("could not remove {}: {}", key, e.toString()); // removed with the job later
                }
            }
        }
    }

    /**
     * Answers rows, appending the runs answered and the rows that failed. A call refused for its
     * input is split in halves until the rows at fault are alone; each of those fails with the
     * model's reason, and the others are answered.
     */
    private void answer(Job job, List<InputRow.Values> rows, List<ResultWriter.Answered> answered,
                        List<ResultWriter.Failure> failures) throws Unservable, InterruptedException {
        Binding.Bound bound = job.binding().bind(rows);
        for (Binding.Rejected r : bound.rejected()) {
            failures.add(new ResultWriter.Failure(r.row().line(), passthrough(job, r.row()), r.problem()));
        }
        if (bound.rows().isEmpty()) {
            return;
        }
        try {
            Map<String, Output> outputs = call(job, bound.inputs(), bound.rows().size());
            answered.add(new ResultWriter.Answered(bound.rows(), outputs));
        } catch (ProblemException e) {
            if (bound.rows().size() == 1) {
                InputRow.Values row = bound.rows().get(0);
                failures.add(new ResultWriter.Failure(row.line(), passthrough(job, row), new JobProblem(e.type().code(),
                        e.type().status(), e.type().title(), "line " + row.line() + ": " + e.detail())));
                return;
            }
            int half = bound.rows().size() / 2;
            answer(job, bound.rows().subList(0, half), answered, failures);
            answer(job, bound.rows().subList(half, bound.rows().size()), answered, failures);
        }
    }

    private static Map<String, JsonNode> passthrough(Job job, InputRow.Values row) {
        Map<String, JsonNode> values = new LinkedHashMap<>();
        for (String c : job.binding().passthrough()) {
            JsonNode v = row.fields().get(c);
            if (v != null) {
                values.put(c, v);
            }
        }
        return values;
    }

    /**
     * One model call through the one way in, within the jobs' share of the model.
     *
     * @throws ProblemException the model refused the rows for their values (400 or 422)
     * @throws Unservable       the model cannot be served, or stayed busy through every retry
     */
    private Map<String, Output> call(Job job, List<Tensor> inputs, int rows) throws Unservable, InterruptedException {
        PredictRequest request = PredictRequest.of(job.caller(), job.spec().target(), inputs);
        Prediction p = predict(job, request, status -> status == 400 || status == 422);
        Map<String, Output> outputs = p.result().outputs();
        checkRows(outputs, rows);
        // The answer is in hand: what waits for delivery (a deployment's shadow call) may start.
        p.afterDelivery().ifPresent(Runnable::run);
        return outputs;
    }

    /**
     * One call through the one way in, in the batch lane, within the jobs' share of its model; a call
     * the model could not take (busy, unavailable) is tried again.
     *
     * @param atFault the statuses that blame the request rather than the model
     * @throws ProblemException the model refused the request with one of those
     * @throws Unservable       the model cannot be served, or stayed busy through every retry
     */
    private Prediction predict(Job job, PredictRequest call, java.util.function.IntPredicate atFault)
            throws Unservable, InterruptedException {
        Semaphore share = calls.computeIfAbsent(key(call.target()), k -> new Semaphore(callsPerModel, true));
        PredictRequest request = call.withLane(PredictRequest.Lane.BATCH).withTimeout(Optional.of(CALL_TIMEOUT));
        for (int attempt = 0; ; attempt++) {
            ProblemException refused;
            share.acquire();
            try {
                return predictor.predict(request).get(CALL_TIMEOUT.toMillis() + 10_000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof ProblemException problem)) {
                    log.warn("job {}: a model call failed: {}", job.id(), String.valueOf(e.getCause()));
                    throw new Unservable(JobProblem.of(ProblemType.INTERNAL, "the model call failed unexpectedly"));
                }
                refused = problem;
            } catch (TimeoutException e) {
                refused = new ProblemException(ProblemType.INFERENCE_TIMEOUT, "the model did not answer in "
                        + CALL_TIMEOUT.toMinutes() + " minutes");
            } finally {
                share.release();
            }
            if (atFault.test(refused.type().status())) {
                throw refused;
            }
            if (stopping) {
                // Not the model's fault: the chunk is left to its lease, given back as this server stops.
                throw new InterruptedException("the server is stopping");
            }
            if (!refused.type().retryable() || attempt >= BACKOFF_MILLIS.length) {
                throw new Unservable(JobProblem.of(refused));
            }
            long wait = Math.max(BACKOFF_MILLIS[attempt], refused.retryAfterSeconds() * 1000);
            Thread.sleep(Math.min(wait, 60_000));
        }
    }

    // ---- a job of request lines: one call per line ----

    /** Scores a chunk of request lines: answers and failures in input order, committed like any chunk. */
    private void scoreLines(JobStore.Claimed claimed, List<InputRow> rows) throws InterruptedException {
        Job job = claimed.job();
        List<String> answered = new ArrayList<>(rows.size());
        List<String> failed = new ArrayList<>();
        try {
            for (InputRow row : rows) {
                Map<String, JsonNode> fields = row instanceof InputRow.Values v ? v.fields() : Map.of();
                try {
                    if (row instanceof InputRow.Bad b) {
                        throw new ProblemException(ProblemType.INVALID_REQUEST, b.detail());
                    }
                    RequestLines.Call call = lines.decode(job.caller(), job.id(), row.line(), fields);
                    Prediction p = predict(job, call.request(), status -> status >= 400 && status < 500 && status != 429);
                    answered.add(call.answered(p));
                    p.afterDelivery().ifPresent(Runnable::run);
                } catch (ProblemException e) {
                    failed.add(lines.failed(job.id(), row.line(), fields, e));
                }
            }
        } catch (Unservable e) {
            if (store.fail(job.id(), e.problem, config.retention())) {
                log.info("job {} failed: {}", job.id(), e.problem.detail());
            }
            return;
        }
        commit(claimed, answered.size(), failed.size(),
                file -> Files.write(file, answered, java.nio.charset.StandardCharsets.UTF_8),
                file -> Files.write(file, failed, java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String key(Target target) {
        return (target instanceof Target.Deployment ? "d:" : "m:") + target.name();
    }

    /** A model that answers another number of rows than it was asked cannot be trusted with the job. */
    private static void checkRows(Map<String, Output> outputs, int rows) throws Unservable {
        for (Output o : outputs.values()) {
            long n = switch (o) {
                case Tensor t -> t.shape().length == 0 ? -1 : t.shape()[0];
                case MapSequence m -> m.rows().size();
            };
            if (n != rows) {
                throw new Unservable(JobProblem.of(ProblemType.INFERENCE_FAILED, "the model answered " + n + " rows of '"
                        + o.name() + "' for " + rows + " rows asked"));
            }
        }
    }

    // ---- leases and upkeep ----

    private void renew() {
        try {
            store.renew(Set.copyOf(held), config.lease());
        } catch (RuntimeException e) {
            log.warn("job leases not renewed: {}", e.toString()); // they lapse, and the work is taken again
        }
    }

    private void maintain() {
        try {
            store.settleCancelled(config.retention());
            for (String id : store.expired(clock.instant(), 100)) {
                if (store.delete(id)) {
                    artifacts.deleteAll(Job.prefix(id));
                    log.info("job {} removed: its retention ran out", id);
                }
            }
            for (JobFile f : store.expiredFiles(clock.instant(), 100)) {
                if (store.deleteFile(f.id())) {
                    artifacts.delete(f.artifactKey());
                }
            }
            Map<String, Long> byStatus = new LinkedHashMap<>();
            store.countByStatus().forEach((s, n) -> byStatus.put(s.value(), n));
            counts.set(byStatus);
            openChunks = store.openChunks();
        } catch (RuntimeException e) {
            log.warn("job upkeep failed: {}", e.toString()); // the next round tries again
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the workers; a chunk being scored is left to its lease (another worker, or the next start, takes it). */
    @Override
    public void close() throws InterruptedException {
        stopping = true;
        Set<String> mine = Set.copyOf(held);
        wake();
        timer.shutdownNow();
        for (Thread t : workers) {
            t.interrupt();
        }
        for (Thread t : workers) {
            t.join(10_000);
        }
        try {
            // Given back now, so that the next start (or another replica) takes them at once.
            store.release(mine);
        } catch (RuntimeException e) {
            log.warn("job leases not given back (they lapse in {}): {}", config.lease(), e.toString());
        }
    }
}
