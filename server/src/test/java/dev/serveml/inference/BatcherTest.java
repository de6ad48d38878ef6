package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import dev.serveml.config.BatchingConfig;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** The per-version queue: admission, deadlines and dynamic batching, on a fake clock. */
class BatcherTest {
    private static final long FAR = Long.MAX_VALUE;

    private final FakeTicker ticker = new FakeTicker();
    private final ManualExecutor executor = new ManualExecutor();
    private final Meters meters = new Meters();

    @Test
    void aBatchClosesAsSoonAsItHoldsMaxBatchSizeRows() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 4, 2, 16, 4);
        occupy(batcher);

        List<CompletableFuture<Map<String, Output>>> answers = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            answers.add(batcher.submit(List.of(rows(new float[]{i, i})), Set.of(), FAR));
        }

        assertThat(executor.pending()).as("closed at 4 rows without waiting for the delay").isEqualTo(2);
        executor.runAll();
        assertThat(model.callRows).containsExactly(1L, 4L);
        for (int i = 1; i <= 4; i++) {
            assertThat(floats(answers.get(i - 1).join().get("sum"))).containsExactly(2f * i);
        }
    }

    @Test
    void aBatchClosesWhenItsOldestRequestHasWaitedTheMaximumQueueDelay() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 8, 2, 16, 4);
        occupy(batcher);

        batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        ticker.advanceMillis(1);
        batcher.submit(List.of(rows(new float[]{2, 2})), Set.of(), FAR);
        batcher.submit(List.of(rows(new float[]{3, 3})), Set.of(), FAR);
        assertThat(executor.pending()).as("only the call that keeps the version busy").isEqualTo(1);

        ticker.advanceMillis(1);

        assertThat(executor.pending()).as("the oldest waited 2 ms").isEqualTo(2);
        executor.runAll();
        assertThat(model.callRows).containsExactly(1L, 3L);
        assertThat(batcher.queued()).isZero();
    }

    @Test
    void aQueueReconfiguredWhileRequestsWaitBatchesThemUnderTheNewLimits() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 1, 2, 16, 1);
        batcher.submit(List.of(rows(new float[]{0, 0})), Set.of(), FAR); // takes the one call slot
        for (int i = 1; i <= 3; i++) {
            batcher.submit(List.of(rows(new float[]{i, i})), Set.of(), FAR);
        }
        assertThat(executor.pending()).isEqualTo(1);

        batcher.reconfigure(8, Duration.ofMillis(5));
        batcher.submit(List.of(rows(new float[]{4, 4})), Set.of(), FAR);
        executor.runAll();
        ticker.advanceMillis(5);
        executor.runAll();

        assertThat(model.callRows).as("the waiting unbatched requests run alone, the new one is batched")
                .containsExactly(1L, 1L, 1L, 1L, 1L);
        occupy(batcher);
        for (int i = 0; i < 3; i++) {
            batcher.submit(List.of(rows(new float[]{i, i})), Set.of(), FAR);
        }
        ticker.advanceMillis(5);
        executor.runAll();
        assertThat(model.callRows.subList(5, model.callRows.size())).containsExactly(1L, 3L);

        batcher.reconfigure(1, Duration.ZERO);
        batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        batcher.submit(List.of(rows(new float[]{2, 2})), Set.of(), FAR);
        executor.runAll();
        assertThat(model.callRows.subList(7, model.callRows.size())).as("batching off again").containsExactly(1L, 1L);
    }

    @Test
    void fp32AnswersAreSplitBackByEachRequestsRowCount() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 16, 2, 16, 4);
        occupy(batcher);

        var one = batcher.submit(List.of(rows(new float[]{1, 2})), Set.of(), FAR);
        var three = batcher.submit(List.of(rows(new float[]{1, 1}, new float[]{2, 2}, new float[]{3, 3})), Set.of(), FAR);
        var two = batcher.submit(List.of(rows(new float[]{10, 0}, new float[]{0, 20})), Set.of(), FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.callRows).containsExactly(1L, 6L);
        assertThat(floats(one.join().get("sum"))).containsExactly(3f);
        assertThat(floats(three.join().get("sum"))).containsExactly(2f, 4f, 6f);
        assertThat(((Tensor) three.join().get("sum")).shape()).containsExactly(3);
        assertThat(floats(two.join().get("sum"))).containsExactly(10f, 20f);
    }

    @Test
    void bytesAnswersAreSplitBackByEachRequestsRowCount() {
        Shouter model = new Shouter();
        Batcher batcher = new Batcher(model, "shout", 1, model.batchable(), config(8, 2, 16), 4, executor,
                ticker, meters);
        batcher.submit(List.of(words("busy")), Set.of("loud"), FAR); // another key: keeps the version busy

        var a = batcher.submit(List.of(words("hello")), Set.of(), FAR);
        var b = batcher.submit(List.of(words("two", "words")), Set.of(), FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.calls).as("the busy call, then one for both").isEqualTo(2);
        assertThat(strings(a.join().get("loud"))).containsExactly("HELLO");
        assertThat(strings(b.join().get("loud"))).containsExactly("TWO", "WORDS");
    }

    @Test
    void requestsWithOtherParametersAreNeverStackedAndEachCallGetsItsOwn() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 16, 2, 16, 4);
        occupy(batcher);

        var one = batcher.submitTimed(List.of(rows(new float[]{1, 1})), Set.of(), new Parameters(Map.of("k", 1L)), FAR);
        var two = batcher.submitTimed(List.of(rows(new float[]{2, 2})), Set.of(), new Parameters(Map.of("k", 2L)), FAR);
        var oneAgain = batcher.submitTimed(List.of(rows(new float[]{3, 3})), Set.of(), new Parameters(Map.of("k", 1L)),
                FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.callRows).as("the busy call, k=1 twice stacked, then k=2").containsExactly(1L, 2L, 1L);
        assertThat(model.parameters.subList(1, 3)).containsExactly(new Parameters(Map.of("k", 1L)),
                new Parameters(Map.of("k", 2L)));
        assertThat(floats(one.join().outputs().get("sum"))).containsExactly(2f);
        assertThat(floats(two.join().outputs().get("sum"))).containsExactly(4f);
        assertThat(floats(oneAgain.join().outputs().get("sum"))).containsExactly(6f);
    }

    @Test
    void requestsRunOneByOneWhenTheOutputsAreNotOneEntryPerRow() {
        RowSums model = new RowSums(true);
        model.totalOnly = true;
        Batcher batcher = batcher(model, 8, 2, 16, 4);
        occupy(batcher);

        var a = batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        var b = batcher.submit(List.of(rows(new float[]{2, 2}, new float[]{3, 3})), Set.of(), FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.callRows).as("one stacked try, then each alone").containsExactly(1L, 3L, 1L, 2L);
        assertThat(floats(a.join().get("sum"))).containsExactly(2f);
        assertThat(floats(b.join().get("sum"))).containsExactly(10f);
    }

    @Test
    void aFullQueueRefusesAtOnceWithQueueFull() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 1, 2, 2, 1);

        batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR); // running
        batcher.submit(List.of(rows(new float[]{2, 2})), Set.of(), FAR);
        batcher.submit(List.of(rows(new float[]{3, 3})), Set.of(), FAR);
        var refused = batcher.submit(List.of(rows(new float[]{4, 4})), Set.of(), FAR);

        assertThat(refused).isCompletedExceptionally();
        assertThat(problem(refused).type()).isEqualTo(ProblemType.QUEUE_FULL);
        assertThat(problem(refused).type().status()).isEqualTo(503);
        assertThat(batcher.queued()).isEqualTo(2);
        assertThat(meters.scrape()).contains("serveml_requests_rejected_total{model=\"m\",reason=\"queue_full\","
                + "version=\"1\"} 1.0");
    }

    @Test
    void aRequestWhoseDeadlinePassesWhileQueuedFailsWith504AndNeverRuns() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 1, 2, 16, 1);

        var first = batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        var late = batcher.submit(List.of(rows(new float[]{9, 9})), Set.of(), ticker.nanoTime() + 5_000_000);
        ticker.advanceMillis(5);

        assertThat(problem(late).type()).isEqualTo(ProblemType.INFERENCE_TIMEOUT);
        assertThat(problem(late).type().status()).isEqualTo(504);
        assertThat(batcher.queued()).isZero();
        executor.runAll();
        assertThat(first.join()).isNotNull();
        assertThat(model.callRows).as("only the first request ran").containsExactly(1L);
        assertThat(meters.scrape()).contains("reason=\"timeout\"");
    }

    @Test
    void aRequestArrivingPastItsDeadlineIsRefusedWithoutQueueing() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 1, 2, 16, 1);

        var late = batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), ticker.nanoTime());

        assertThat(problem(late).type()).isEqualTo(ProblemType.INFERENCE_TIMEOUT);
        assertThat(executor.pending()).isZero();
    }

    @Test
    void aModelWhoseFirstDimensionIsFixedRunsEachRequestAlone() {
        RowSums model = new RowSums(false);
        Batcher batcher = batcher(model, 8, 2, 16, 4);

        for (int i = 0; i < 3; i++) {
            batcher.submit(List.of(rows(new float[]{i, i})), Set.of(), FAR);
        }

        assertThat(executor.pending()).as("nothing waits for a batch").isEqualTo(3);
        executor.runAll();
        assertThat(model.callRows).containsExactly(1L, 1L, 1L);
    }

    @Test
    void aBatchJobsCallWaitsUntilNoOnlineRequestIsQueuedAndIsNeverStacked() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 8, 2, 16, 1);
        occupy(batcher);
        CompletableFuture<Batcher.Completed> first = batcher.submitTimed(List.of(rows(new float[]{1}, new float[]{1},
                new float[]{1})), Set.of(), Parameters.NONE, dev.serveml.runtime.TokenSink.NONE, FAR,
                PredictRequest.Lane.BATCH);
        CompletableFuture<Batcher.Completed> second = batcher.submitTimed(List.of(rows(new float[]{1}, new float[]{1},
                new float[]{1})), Set.of(), Parameters.NONE, dev.serveml.runtime.TokenSink.NONE, FAR,
                PredictRequest.Lane.BATCH);
        CompletableFuture<Map<String, Output>> online = batcher.submit(List.of(rows(new float[]{2}, new float[]{2})),
                Set.of(), FAR);
        assertThat(batcher.queued()).isEqualTo(3);
        ticker.advanceMillis(5);
        executor.runAll();
        // The online request queued after both jobs' calls ran before them; the two were not stacked.
        assertThat(model.callRows).containsExactly(1L, 2L, 3L, 3L);
        assertThat(floats(online.join().get("sum"))).containsExactly(2f, 2f);
        assertThat(floats(first.join().outputs().get("sum"))).containsExactly(1f, 1f, 1f);
        assertThat(second).isCompleted();
    }

    @Test
    void withBatchingOffEachRequestRunsAloneAtOnce() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 1, 2, 16, 2);

        for (int i = 0; i < 3; i++) {
            batcher.submit(List.of(rows(new float[]{i, i})), Set.of(), FAR);
        }

        assertThat(executor.pending()).as("two call slots").isEqualTo(2);
        executor.runAll();
        assertThat(model.callRows).containsExactly(1L, 1L, 1L);
        assertThat(meters.scrape()).contains("serveml_batch_size_rows_count{model=\"m\",version=\"1\"} 3");
    }

    @Test
    void requestsOfDifferentRowWidthsAreNotStackedTogether() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 8, 2, 16, 4);
        occupy(batcher);

        batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        batcher.submit(List.of(rows(new float[]{1, 1, 1})), Set.of(), FAR);
        batcher.submit(List.of(rows(new float[]{2, 2})), Set.of(), FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.callRows).containsExactlyInAnyOrder(1L, 2L, 1L);
    }

    @Test
    void aModelFailureReachesEveryRequestOfItsBatch() {
        RowSums model = new RowSums(true);
        model.failure = new ProblemException(ProblemType.MODEL_UNAVAILABLE, "worker died");
        Batcher batcher = batcher(model, 2, 2, 16, 4);
        occupy(batcher);

        var a = batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        var b = batcher.submit(List.of(rows(new float[]{2, 2})), Set.of(), FAR);
        executor.runAll();

        assertThat(problem(a).type()).isEqualTo(ProblemType.MODEL_UNAVAILABLE);
        assertThat(problem(b).type()).isEqualTo(ProblemType.MODEL_UNAVAILABLE);
        assertThat(model.callRows).as("a dead worker is not retried row by row").containsExactly(1L, 2L);
    }

    @Test
    void anIdleVersionRunsARequestAtOnceAndTheRequestsArrivingMeanwhileFormTheNextBatch() {
        RowSums model = new RowSums(true);
        Batcher batcher = batcher(model, 8, 2, 16, 1);

        batcher.submit(List.of(rows(new float[]{1, 1})), Set.of(), FAR);
        assertThat(executor.pending()).as("nothing to wait for: the model is idle").isEqualTo(1);
        for (int i = 2; i <= 4; i++) {
            batcher.submit(List.of(rows(new float[]{i, i})), Set.of(), FAR);
        }
        assertThat(executor.pending()).as("the model is busy: these wait").isEqualTo(1);

        executor.runAll();

        assertThat(model.callRows).as("the first alone, then the three that came while it ran, without waiting "
                + "for the delay").containsExactly(1L, 3L);
    }

    @Test
    void shortAndLongTextsQueuedTogetherGoToDifferentCallsAndEqualGroupsStillStack() {
        Lengths model = new Lengths();
        Batcher batcher = lengths(model, true);
        batcher.submit(List.of(words("busy")), Set.of("busy"), FAR); // another key: keeps the version busy

        var a = batcher.submit(List.of(words("hi")), Set.of(), FAR);
        var b = batcher.submit(List.of(words("a long long text")), Set.of(), FAR);
        var c = batcher.submit(List.of(words("ok", "yes")), Set.of(), FAR);
        var d = batcher.submit(List.of(words("another long text")), Set.of(), FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.calls).as("the busy call, the short ones stacked, the long ones stacked")
                .containsExactly(List.of("busy"), List.of("hi", "ok", "yes"), List.of("a long long text",
                        "another long text"));
        assertThat(floats(a.join().get("length"))).containsExactly(2f);
        assertThat(floats(b.join().get("length"))).containsExactly(16f);
        assertThat(floats(c.join().get("length"))).containsExactly(2f, 3f);
        assertThat(floats(d.join().get("length"))).containsExactly(17f);
    }

    @Test
    void theOldestRequestStartsTheNextCallWhateverItsGroupSoALoneLongTextIsNotStarvedByShortOnes() {
        Lengths model = new Lengths();
        Batcher batcher = lengths(model, true);
        batcher.submit(List.of(words("busy")), Set.of("busy"), FAR);

        batcher.submit(List.of(words("a lone long text")), Set.of(), FAR);
        for (int i = 0; i < 6; i++) {
            batcher.submit(List.of(words("s" + i)), Set.of(), FAR);
        }
        executor.runAll();
        batcher.submit(List.of(words("s6")), Set.of(), FAR);
        executor.runAll();

        assertThat(model.calls).as("though more short texts queued after it, the long one ran first").containsExactly(
                List.of("busy"), List.of("a lone long text"), List.of("s0", "s1", "s2", "s3", "s4", "s5"),
                List.of("s6"));
    }

    @Test
    void withGroupingBySizeOffTextsOfAnyLengthShareACall() {
        Lengths model = new Lengths();
        Batcher batcher = lengths(model, false);
        batcher.submit(List.of(words("busy")), Set.of("busy"), FAR);

        batcher.submit(List.of(words("hi")), Set.of(), FAR);
        batcher.submit(List.of(words("a long long text")), Set.of(), FAR);
        ticker.advanceMillis(2);
        executor.runAll();

        assertThat(model.calls).containsExactly(List.of("busy"), List.of("hi", "a long long text"));
    }

    private Batcher lengths(Lengths model, boolean bySize) {
        return new Batcher(model, "lengths", 1, model.batchable(), new BatchingConfig(8, Duration.ofMillis(2), 16,
                Duration.ofSeconds(30), bySize), 1, executor, ticker, meters);
    }

    /**
     * Starts a one-column call that stays running (in the manual executor) until {@code runAll}: the
     * version is busy, so the requests that follow wait to form a batch. Its call shows as one row.
     */
    private void occupy(Batcher batcher) {
        batcher.submit(List.of(rows(new float[]{0})), Set.of(), FAR);
    }

    private Batcher batcher(RowSums model, int maxBatch, int delayMs, int capacity, int inFlight) {
        return new Batcher(model, "m", 1, model.batchable(), config(maxBatch, delayMs, capacity), inFlight, executor,
                ticker, meters);
    }

    private static BatchingConfig config(int maxBatch, int delayMs, int capacity) {
        return new BatchingConfig(maxBatch, Duration.ofMillis(delayMs), capacity, Duration.ofSeconds(30));
    }

    private static ProblemException problem(CompletableFuture<?> future) {
        Throwable t = catchThrowable(future::join);
        assertThat(t).isInstanceOf(CompletionException.class);
        return (ProblemException) t.getCause();
    }

    private static Tensor rows(float[]... rows) {
        int width = rows[0].length;
        float[] flat = new float[rows.length * width];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * width, width);
        }
        return Tensor.ofFloats("x", new long[]{rows.length, width}, flat);
    }

    private static Tensor words(String... words) {
        return Tensor.ofBytes("text", new long[]{words.length},
                Arrays.stream(words).map(w -> w.getBytes(StandardCharsets.UTF_8)).toList());
    }

    private static float[] floats(Output o) {
        ByteBuffer b = ((Tensor) o).data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static List<String> strings(Output o) {
        return ((Tensor) o).bytes().stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList();
    }

    /** x FP32[rows, width] to sum FP32[rows]: each row's sum (or, when totalOnly, one total). */
    private static final class RowSums implements LoadedModel {
        final List<Long> callRows = new ArrayList<>();
        final List<Parameters> parameters = new ArrayList<>();
        final Signature signature;
        boolean totalOnly;
        RuntimeException failure;

        RowSums(boolean dynamicRows) {
            long first = dynamicRows ? -1 : 1;
            signature = new Signature(List.of(TensorSpec.tensor("x", DataType.FP32, List.of(first, -1L))),
                    List.of(TensorSpec.tensor("sum", DataType.FP32, List.of(first))));
        }

        @Override
        public Signature signature() {
            return signature;
        }

        @Override
        public synchronized Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters p) {
            parameters.add(p);
            return infer(inputs, outputs);
        }

        @Override
        public synchronized Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
            Tensor x = inputs.get(0);
            int rows = (int) x.shape()[0];
            int width = (int) x.shape()[1];
            callRows.add((long) rows);
            if (failure != null) {
                throw failure;
            }
            float[] in = floats(x);
            float[] sums = new float[totalOnly ? 1 : rows];
            for (int i = 0; i < in.length; i++) {
                sums[totalOnly ? 0 : i / width] += in[i];
            }
            Map<String, Output> answer = new LinkedHashMap<>();
            answer.put("sum", Tensor.ofFloats("sum", new long[]{sums.length}, sums));
            return answer;
        }

        @Override
        public long memoryBytes() {
            return 1;
        }

        @Override
        public void close() {
        }
    }

    /**
     * text BYTES[n] to length FP32[n] (each text's bytes), outputs busy or length; groups by size like a
     * text model: up to 8 bytes, or more.
     */
    private static final class Lengths implements LoadedModel {
        final List<List<String>> calls = new ArrayList<>();

        @Override
        public Signature signature() {
            return new Signature(List.of(TensorSpec.tensor("text", DataType.BYTES, List.of(-1L))),
                    List.of(TensorSpec.tensor("length", DataType.FP32, List.of(-1L)),
                            TensorSpec.tensor("busy", DataType.FP32, List.of(-1L))));
        }

        @Override
        public int batchGroup(List<Tensor> inputs, Parameters parameters) {
            return inputs.get(0).bytes().stream().anyMatch(b -> b.length > 8) ? 2 : 1;
        }

        @Override
        public synchronized Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
            List<byte[]> texts = inputs.get(0).bytes();
            calls.add(texts.stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList());
            float[] lengths = new float[texts.size()];
            for (int i = 0; i < lengths.length; i++) {
                lengths[i] = texts.get(i).length;
            }
            String name = outputs.contains("busy") ? "busy" : "length";
            return Map.of(name, Tensor.ofFloats(name, new long[]{lengths.length}, lengths));
        }

        @Override
        public long memoryBytes() {
            return 1;
        }

        @Override
        public void close() {
        }
    }

    /** text BYTES[n] to loud BYTES[n], upper-cased. */
    private static final class Shouter implements LoadedModel {
        int calls;

        @Override
        public Signature signature() {
            return new Signature(List.of(TensorSpec.tensor("text", DataType.BYTES, List.of(-1L))),
                    List.of(TensorSpec.tensor("loud", DataType.BYTES, List.of(-1L))));
        }

        @Override
        public synchronized Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
            calls++;
            Tensor t = inputs.get(0);
            List<byte[]> loud = t.bytes().stream().map(b -> new String(b, StandardCharsets.UTF_8)
                    .toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8)).toList();
            return Map.of("loud", Tensor.ofBytes("loud", t.shape(), loud));
        }

        @Override
        public long memoryBytes() {
            return 1;
        }

        @Override
        public void close() {
        }
    }
}
