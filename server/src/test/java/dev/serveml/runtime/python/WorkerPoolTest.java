package dev.serveml.runtime.python;

import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The pool's choices with fake workers, a fake clock and timers that run what they are given at
 * once (recording the delay asked for), so every step happens on the test's thread: which worker
 * a call gets, the retry on another worker after a death, the circuit breaker and its probe,
 * idleness and close. No process, socket or sleep.
 */
class WorkerPoolTest {
    private static final List<Tensor> ROW = List.of(Tensor.ofFloats("x", new long[]{1, 1}, 1f));
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor("x", DataType.FP32, List.of(-1L, 1L))),
            List.of(TensorSpec.tensor("a", DataType.FP32, List.of(-1L)), TensorSpec.tensor("b", DataType.FP32,
                    List.of(-1L))));

    private final Timers timers = new Timers();
    private final long[] now = {1_000_000_000L};
    private final List<Fake> started = new ArrayList<>();
    /** What each worker the starter makes does on a call once its script is done. */
    private Function<Fake, List<Tensor>> behaviour = Fake::answer;
    private RuntimeException startFailure;
    private final AtomicBoolean unloaded = new AtomicBoolean();
    private WorkerPool pool;

    @AfterEach
    void stopTimers() {
        timers.shutdownNow();
    }

    private WorkerPool pool(int size, Duration idleTimeout) {
        Fake first = new Fake(1, Fake::answer);
        started.add(first);
        pool = new WorkerPool(new WorkerPool.Settings("m", "m v1", size, Duration.ofSeconds(30), idleTimeout), first,
                this::start, SIGNATURE, Map.of(), timers, new Meters(), () -> unloaded.set(true), () -> now[0],
                Runnable::run);
        return pool;
    }

    private Fake start() {
        if (startFailure != null) {
            throw startFailure;
        }
        Fake w = new Fake(started.size() + 1, behaviour);
        started.add(w);
        return w;
    }

    private void advance(Duration d) {
        now[0] += d.toNanos();
    }

    /** The pid of the worker that answered, read from its output "a". */
    private long call() {
        return (long) ((Tensor) pool.infer(ROW, Set.of()).get("a")).data().getFloat(0);
    }

    private ProblemException refused() {
        ProblemException e = catchThrowableOfType(ProblemException.class, () -> pool.infer(ROW, Set.of()));
        assertThat(e).as("the call is refused").isNotNull();
        return e;
    }

    @Test
    void callsGoToTheWorkerIdleLongestSoTheyTakeTurns() {
        pool(2, Duration.ZERO);
        assertThat(timers.delays).as("the second worker starts at once").containsExactly(0L);

        assertThat(List.of(call(), call(), call(), call())).containsExactly(1L, 2L, 1L, 2L);
        assertThat(started).allSatisfy(w -> assertThat(w.calls).isEqualTo(2));
    }

    @Test
    void theAnswerHasTheSignaturesOutputsInItsOrderThenTheWorkersOthersAndOnlyThoseAsked() {
        pool(1, Duration.ZERO);
        assertThat(pool.infer(ROW, Set.of()).keySet()).containsExactly("a", "b", "extra");
        assertThat(pool.infer(ROW, Set.of("b", "extra")).keySet()).containsExactly("b", "extra");
        Map<String, Output> one = pool.infer(ROW, Set.of("b"));
        assertThat(one.keySet()).containsExactly("b");
    }

    @Test
    void aCallWhoseWorkerDiesIsTriedOnceMoreOnAnotherAndTheDeadOneIsReplacedAfterABackoff() {
        pool(2, Duration.ZERO);
        started.get(0).script.add("die");

        assertThat(call()).as("answered by the other worker").isEqualTo(2L);

        assertThat(timers.delays).as("the fill, then the replacement after 0.5 s").containsExactly(0L, 500L);
        assertThat(started).hasSize(3);
        assertThat(pool.pids()).containsExactlyInAnyOrder(2L, 3L);
        assertThat(pool.unavailable()).isEmpty();
    }

    @Test
    void aCallWhoseWorkersDieTwiceIsARetryable503() {
        behaviour = Fake::die;
        pool(1, Duration.ZERO).infer(ROW, Set.of()); // the first worker answers
        started.get(0).script.add("die");

        ProblemException e = refused();

        assertThat(e.type()).isEqualTo(ProblemType.MODEL_UNAVAILABLE);
        assertThat(e.type().retryable()).isTrue();
        assertThat(e.detail()).isEqualTo("the workers serving m v1 died during this request (tried twice); they are "
                + "being restarted, retry shortly");
    }

    @Test
    void aModelsOwnErrorKeepsItsWorkerAndATimeoutReplacesIt() {
        pool(1, Duration.ZERO);
        Fake first = started.get(0);
        first.script.add("raise");
        assertThat(refused().type()).isEqualTo(ProblemType.MODEL_ERROR);
        assertThat(call()).as("the same worker, still serving").isEqualTo(1L);

        first.script.add("timeout");
        assertThat(refused().type()).isEqualTo(ProblemType.INFERENCE_TIMEOUT);
        assertThat(pool.pids()).as("replaced at once, without a backoff").containsExactly(2L);
        assertThat(call()).isEqualTo(2L);
        assertThat(pool.unavailable()).as("a slow answer is not a crash").isEmpty();
    }

    @Test
    void fiveDeathsWithinTheWindowOpenTheCircuitAndCallsAreRefusedAtOnceWithRetryAfter() {
        behaviour = Fake::die;
        pool(1, Duration.ZERO);
        started.get(0).script.add("die");
        refused(); // deaths 1 and 2
        refused(); // 3 and 4
        ProblemException fifth = refused();
        assertThat(fifth.detail()).contains("is not taking calls");
        int workers = started.size();

        ProblemException e = refused();

        assertThat(e.type()).isEqualTo(ProblemType.MODEL_UNAVAILABLE);
        assertThat(e.detail()).startsWith("m v1 is not taking calls: its workers crashed 5 times within 5 minutes "
                + "(the last: worker " + workers + " died); retry in 5 s");
        assertThat(e.retryAfterSeconds()).isEqualTo(5);
        assertThat(started).as("an open circuit starts no worker").hasSize(workers);
        assertThat(pool.unavailable()).hasValueSatisfying(why -> assertThat(why)
                .contains("crashed 5 times within 5 minutes", "refused for 5 s more"));
    }

    @Test
    void deathsOlderThanTheWindowDoNotCount() {
        behaviour = Fake::die;
        pool(1, Duration.ZERO);
        started.get(0).script.add("die");
        refused(); // two deaths
        refused(); // four
        advance(WorkerPool.CRASH_WINDOW.plusSeconds(1));
        behaviour = Fake::answer;
        Fake last = started.getLast();
        last.script.add("die");

        assertThat(call()).as("the fifth death is the first in the window: retried, answered").isEqualTo(started.size());
        assertThat(pool.unavailable()).isEmpty();
    }

    @Test
    void afterTheCoolDownOneProbeIsLetThroughAloneAndItsAnswerClosesTheCircuit() {
        openTheCircuit();
        advance(WorkerPool.FIRST_COOLDOWN.minusMillis(1));
        assertThat(refused().detail()).contains("retry in 1 s");

        advance(Duration.ofMillis(1));
        List<ProblemException> beside = new ArrayList<>();
        behaviour = w -> {
            if (beside.isEmpty()) {
                // While the probe runs, another call is refused rather than let through too.
                beside.add(refused());
            }
            return w.answer();
        };
        long probe = call();

        assertThat(probe).as("the probe started a worker of its own").isEqualTo(started.size());
        assertThat(beside).singleElement().satisfies(e -> {
            assertThat(e.detail()).contains("is not taking calls").endsWith("retry in 1 s");
            assertThat(e.retryAfterSeconds()).isEqualTo(1);
        });
        assertThat(pool.unavailable()).isEmpty();
        assertThat(call()).as("the probe's worker serves on").isEqualTo(probe);
    }

    @Test
    void aProbeWhoseWorkerDiesOpensTheCircuitAgainForTwiceAsLong() {
        openTheCircuit();
        advance(WorkerPool.FIRST_COOLDOWN);
        assertThat(refused().type()).as("the probe's worker died").isEqualTo(ProblemType.MODEL_UNAVAILABLE);
        assertThat(pool.unavailable()).hasValueSatisfying(why -> assertThat(why).contains("refused for 10 s more"));

        advance(WorkerPool.FIRST_COOLDOWN);
        assertThat(refused().detail()).contains("retry in 5 s");
        behaviour = Fake::answer;
        advance(WorkerPool.FIRST_COOLDOWN);
        call();
        assertThat(pool.unavailable()).isEmpty();
    }

    @Test
    void aWorkerThatCannotStartCountsAsACrash() {
        pool(1, Duration.ZERO);
        startFailure = new ProblemException(ProblemType.INVALID_MODEL, "no python here");
        started.get(0).script.add("die");

        ProblemException e = refused();

        // The replacement after the death failed four more times at once, and opened the circuit.
        assertThat(e.detail()).contains("is not taking calls", "a replacement worker did not start: no python here");
        assertThat(timers.delays).containsExactly(500L, 1000L, 2000L, 4000L);
    }

    @Test
    void workersIdlePastTheTimeoutAreStoppedAndTheNextCallStartsOneAgain() {
        pool(2, Duration.ofMinutes(1));
        assertThat(timers.periodic).as("the idle check").hasSize(1);
        call();
        advance(Duration.ofSeconds(59));
        timers.periodic.getFirst().run();
        assertThat(pool.pids()).hasSize(2);

        advance(Duration.ofSeconds(1));
        timers.periodic.getFirst().run();

        assertThat(pool.pids()).isEmpty();
        assertThat(started).allSatisfy(w -> assertThat(w.closed).isTrue());
        assertThat(call()).as("a cold start on the caller's thread").isEqualTo(3L);
        assertThat(pool.pids()).as("and the others in the background").containsExactlyInAnyOrder(3L, 4L);
    }

    @Test
    void closingStopsTheIdleWorkersAndRefusesLaterCalls() {
        pool(2, Duration.ZERO);
        pool.close();

        assertThat(started).allSatisfy(w -> assertThat(w.closed).isTrue());
        assertThat(unloaded).isTrue();
        assertThatThrownBy(() -> pool.infer(ROW, Set.of())).isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.detail()).isEqualTo("m v1 was unloaded; retry"));
    }

    private void openTheCircuit() {
        behaviour = Fake::die;
        pool(1, Duration.ZERO);
        started.get(0).script.add("die");
        refused();
        refused();
        refused();
        assertThat(pool.unavailable()).isPresent();
    }

    /** A worker whose next calls do what its script says ("die", "raise", "timeout"), then what it was made to. */
    static final class Fake implements WorkerPool.Member {
        final long pid;
        final Deque<String> script = new ArrayDeque<>();
        private final Function<Fake, List<Tensor>> otherwise;
        int calls;
        boolean closed;

        Fake(long pid, Function<Fake, List<Tensor>> otherwise) {
            this.pid = pid;
            this.otherwise = otherwise;
        }

        /** Its pid in "a" and "b", and an output the signature does not name, out of order. */
        List<Tensor> answer() {
            return List.of(Tensor.ofFloats("extra", new long[]{1}, pid), Tensor.ofFloats("b", new long[]{1}, pid),
                    Tensor.ofFloats("a", new long[]{1}, pid));
        }

        List<Tensor> die() {
            throw new Dying("worker " + pid + " died");
        }

        @Override
        public List<Tensor> predict(List<Tensor> inputs, Duration timeout,
                                    java.util.concurrent.ScheduledExecutorService timers) throws Worker.WorkerDied {
            calls++;
            String step = script.poll();
            try {
                return switch (step == null ? "" : step) {
                    case "die" -> die();
                    case "raise" -> throw new ProblemException(ProblemType.MODEL_ERROR, "the model raised an error");
                    case "timeout" -> throw new ProblemException(ProblemType.INFERENCE_TIMEOUT, "too slow");
                    default -> otherwise.apply(this);
                };
            } catch (Dying d) {
                throw new Worker.WorkerDied(d.getMessage());
            }
        }

        @Override
        public long pid() {
            return pid;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** Carries a death out of a {@link Function}, which cannot throw the checked {@link Worker.WorkerDied}. */
    private static final class Dying extends RuntimeException {
        Dying(String message) {
            super(message);
        }
    }

    /**
     * Runs every one-shot task at once, on the caller's thread, recording the delay it asked for;
     * keeps periodic tasks for the test to run.
     */
    static final class Timers extends ScheduledThreadPoolExecutor {
        final List<Long> delays = new ArrayList<>();
        final List<Runnable> periodic = new ArrayList<>();

        Timers() {
            super(1);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            delays.add(unit.toMillis(delay));
            command.run();
            return new Done();
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
            periodic.add(command);
            return new Done();
        }
    }

    private static final class Done implements ScheduledFuture<Object> {
        @Override
        public long getDelay(TimeUnit unit) {
            return 0;
        }

        @Override
        public int compareTo(Delayed o) {
            return 0;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return false;
        }

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public boolean isDone() {
            return true;
        }

        @Override
        public Object get() {
            return null;
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            return null;
        }
    }
}
