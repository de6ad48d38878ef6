package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import dev.serveml.config.BatchingConfig;
import dev.serveml.config.HostingConfig;
import dev.serveml.metrics.Meters;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.VersionState;
import dev.serveml.registry.VersionStatus;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Resources;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loading on first use, the memory budget's LRU eviction, pins, leases, idle unload and warm-up. */
class ModelHostTest {
    private final FakeTicker ticker = new FakeTicker();
    private final Meters meters = new Meters();
    private final Map<Long, Fake> models = new HashMap<>();
    private final List<Fake> loads = new ArrayList<>();
    private java.util.concurrent.Executor loadRunner = Runnable::run; // inline unless a test holds loads back
    private RuntimeException loadFailure; // what the next load throws, if set

    @Test
    void aCallerWaitingForALoadGetsAFutureAndTheLoadRunsOnTheLoadsExecutor() {
        ManualExecutor loadPool = new ManualExecutor();
        loadRunner = loadPool;
        ModelHost host = host(1_000, Duration.ZERO);

        CompletableFuture<ModelHost.Lease> first = host.acquireAsync(version(1), deadlineIn(30_000));
        CompletableFuture<ModelHost.Lease> second = host.acquireAsync(version(1), deadlineIn(30_000));

        // Nothing ran on the caller's thread: the load waits on its own executor, once for both.
        assertThat(first).isNotDone();
        assertThat(second).isNotDone();
        assertThat(loads).isEmpty();
        assertThat(loadPool.pending()).isEqualTo(1);
        loadPool.runAll();
        assertThat(loads).hasSize(1);
        assertThat(first.join().model()).isSameAs(model(1));
        assertThat(second.join().model()).isSameAs(model(1));
        first.join().release();
        second.join().release();
        // Loaded now: the next caller's future is complete at once, with nothing handed to the executor.
        CompletableFuture<ModelHost.Lease> warm = host.acquireAsync(version(1), deadlineIn(30_000));
        assertThat(warm).isDone();
        assertThat(loadPool.pending()).isZero();
        warm.join().release();
    }

    @Test
    void aCallerWhoseDeadlinePassesWhileTheModelLoadsGetsATimeoutAndHoldsNothing() {
        ManualExecutor loadPool = new ManualExecutor();
        loadRunner = loadPool;
        ModelHost host = host(1_000, Duration.ZERO);
        CompletableFuture<ModelHost.Lease> hurried = host.acquireAsync(version(1), deadlineIn(100));
        CompletableFuture<ModelHost.Lease> patient = host.acquireAsync(version(1), deadlineIn(30_000));

        ticker.advanceMillis(100);

        assertThat(hurried).isCompletedExceptionally();
        assertThatThrownBy(hurried::join).hasCauseInstanceOf(ProblemException.class).cause()
                .satisfies(e -> {
                    assertThat(((ProblemException) e).type()).isEqualTo(ProblemType.INFERENCE_TIMEOUT);
                    assertThat(((ProblemException) e).detail()).contains("while it waited for m1 v1 to load");
                });
        assertThat(patient).isNotDone();
        loadPool.runAll();
        patient.join().release();
        // The timed-out caller took no lease, so an unload closes the model at once.
        host.unload(1);
        assertThat(model(1).closed).isTrue();
        assertThat(meters.scrape()).contains("reason=\"timeout\"");
    }

    @Test
    void callersPastTheQueueCapacityWaitingForALoadAreRefusedAtOnce() {
        ManualExecutor loadPool = new ManualExecutor();
        loadRunner = loadPool;
        ModelHost host = host(1_000, Duration.ZERO);
        List<CompletableFuture<ModelHost.Lease>> waiting = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            waiting.add(host.acquireAsync(version(1), deadlineIn(30_000)));
        }

        CompletableFuture<ModelHost.Lease> oneTooMany = host.acquireAsync(version(1), deadlineIn(30_000));

        assertThat(oneTooMany).isCompletedExceptionally();
        assertThatThrownBy(oneTooMany::join).cause().isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.QUEUE_FULL);
            assertThat(e.detail()).contains("the queue of m1 v1 is full (16 requests waiting for it to load)");
        });
        loadPool.runAll();
        waiting.forEach(f -> f.join().release());
        assertThat(host.acquireAsync(version(1), deadlineIn(30_000)).join().model()).isSameAs(model(1));
    }

    @Test
    void aLoadThatFailsFailsEveryWaiterWithItsProblemAndTheNextCallLoadsAgain() {
        ManualExecutor loadPool = new ManualExecutor();
        loadRunner = loadPool;
        ModelHost host = host(1_000, Duration.ZERO);
        loadFailure = new ProblemException(ProblemType.MODEL_UNAVAILABLE, "the worker exited while loading");
        CompletableFuture<ModelHost.Lease> a = host.acquireAsync(version(1), deadlineIn(30_000));
        CompletableFuture<ModelHost.Lease> b = host.acquireAsync(version(1), deadlineIn(30_000));

        loadPool.runAll();

        for (CompletableFuture<ModelHost.Lease> f : List.of(a, b)) {
            assertThatThrownBy(f::join).cause().isSameAs(loadFailure);
        }
        assertThat(host.isLoaded(1)).isFalse();
        loadFailure = null;
        CompletableFuture<ModelHost.Lease> again = host.acquireAsync(version(1), deadlineIn(30_000));
        loadPool.runAll();
        assertThat(again.join().model()).isSameAs(model(1));
    }

    @Test
    void aLoadTheExecutorRefusesFailsItsCallersAsTheServerShuttingDown() {
        loadRunner = task -> {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        };
        ModelHost host = host(1_000, Duration.ZERO);

        CompletableFuture<ModelHost.Lease> f = host.acquireAsync(version(1), deadlineIn(30_000));

        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.type()).isEqualTo(ProblemType.SERVICE_UNAVAILABLE));
        assertThat(host.isLoaded(1)).isFalse();
    }

    private long deadlineIn(long millis) {
        return ticker.nanoTime() + millis * 1_000_000L;
    }

    @Test
    void theLeastRecentlyUsedVersionsAreEvictedWhenTheBudgetWouldBeExceeded() {
        ModelHost host = host(300, Duration.ZERO);
        use(host, 1);
        use(host, 2);
        use(host, 3);
        use(host, 1); // 2 is now the least recently used

        use(host, 4);

        assertThat(loadedOf(host)).containsExactly(1L, 3L, 4L);
        assertThat(model(2).closed).isTrue();
        use(host, 5);
        assertThat(loadedOf(host)).containsExactly(1L, 4L, 5L);
        assertThat(model(3).closed).isTrue();
        assertThat(meters.scrape()).contains("serveml_model_evictions_total{model=\"m2\",version=\"1\"} 1.0");
    }

    @Test
    void aPinnedVersionIsNeverEvicted() {
        ModelHost host = host(200, Duration.ZERO);
        host.pin(1);
        use(host, 1);
        use(host, 2);

        use(host, 3);
        use(host, 4);

        assertThat(loadedOf(host)).containsExactly(1L, 4L);
        assertThat(model(1).closed).isFalse();
    }

    @Test
    void anUnpinnedVersionCanBeEvictedAgain() {
        ModelHost host = host(100, Duration.ZERO);
        host.pin(1);
        use(host, 1);
        host.unpin(1);

        use(host, 2);

        assertThat(loadedOf(host)).containsExactly(2L);
    }

    @Test
    void aHeldVersionIsNeitherEvictedNorClosedUntilItIsReleased() {
        ModelHost host = host(100, Duration.ZERO);
        ModelHost.Lease lease = host.acquire(version(1));

        use(host, 2); // nothing can go: loads past the budget rather than fail

        assertThat(loadedOf(host)).containsExactly(1L, 2L);
        assertThat(model(1).closed).isFalse();
        lease.release();
        use(host, 3);
        assertThat(loadedOf(host)).containsExactly(3L);
        assertThat(model(1).closed).isTrue();
    }

    @Test
    void unloadingAHeldVersionClosesItOnlyWhenTheLastLeaseIsReturned() {
        ModelHost host = host(1000, Duration.ZERO);
        ModelHost.Lease first = host.acquire(version(1));
        ModelHost.Lease second = host.acquire(version(1));

        host.unload(1);

        assertThat(host.isLoaded(1)).isFalse();
        first.release();
        assertThat(model(1).closed).isFalse();
        second.release();
        assertThat(model(1).closed).isTrue();
        use(host, 1);
        assertThat(loads).hasSize(2).as("the next call loads it again");
    }

    @Test
    void idleVersionsUnloadAfterTheIdleTime() {
        ModelHost host = host(1000, Duration.ofMinutes(10));
        use(host, 1);
        use(host, 2);
        ticker.advanceMillis(Duration.ofMinutes(9).toMillis());
        use(host, 2);
        host.sweepIdle();
        assertThat(loadedOf(host)).containsExactly(1L, 2L);

        ticker.advanceMillis(Duration.ofMinutes(1).toMillis());
        host.sweepIdle();

        assertThat(loadedOf(host)).containsExactly(2L);
        assertThat(model(1).closed).isTrue();
        ticker.advanceMillis(Duration.ofMinutes(9).toMillis());
        host.sweepIdle();
        assertThat(loadedOf(host)).isEmpty();
    }

    @Test
    void theIdleSweepSparesPinnedAndHeldVersions() {
        ModelHost host = host(1000, Duration.ofMinutes(1));
        host.pin(1);
        use(host, 1);
        ModelHost.Lease held = host.acquire(version(2));

        ticker.advanceMillis(Duration.ofMinutes(5).toMillis());
        host.sweepIdle();

        assertThat(loadedOf(host)).containsExactly(1L, 2L);
        held.release();
        ticker.advanceMillis(Duration.ofMinutes(1).toMillis());
        host.sweepIdle();
        assertThat(loadedOf(host)).containsExactly(1L);
    }

    @Test
    void aWarmUpCallFromTheSignatureRunsBeforeTheVersionCountsAsLoaded() {
        ModelHost[] hostRef = new ModelHost[1];
        ModelHost host = host(1000, Duration.ZERO);
        hostRef[0] = host;
        Fake fake = new Fake(100);
        fake.onInfer = inputs -> {
            assertThat(hostRef[0].isLoaded(7)).as("not loaded during warm-up").isFalse();
            assertThat(inputs).hasSize(2);
            assertThat(inputs.get(0).shape()).containsExactly(1, 3);
            assertThat(inputs.get(0).byteSize()).isEqualTo(12);
            assertThat(inputs.get(1).shape()).containsExactly(1);
            assertThat(new String(inputs.get(1).bytes().get(0), StandardCharsets.UTF_8)).isEmpty();
        };
        models.put(7L, fake);

        use(host, 7);

        assertThat(fake.calls).as("warm-up, then the request").isEqualTo(2);
        assertThat(host.isLoaded(7)).isTrue();
    }

    @Test
    void aFailingWarmUpIsLoggedAndTheVersionStillLoads() {
        ModelHost host = host(1000, Duration.ZERO);
        Fake fake = new Fake(100);
        fake.onInfer = inputs -> {
            throw new IllegalArgumentException("zeros are not allowed");
        };
        models.put(8L, fake);

        host.acquire(version(8)).release();

        assertThat(host.isLoaded(8)).isTrue();
        assertThat(fake.closed).isFalse();
    }

    @Test
    void settingsGivenBeforeTheFirstLoadReachTheRuntime() {
        ModelHost host = host(1000, Duration.ZERO);
        Resources four = new Resources(4, Optional.of(512L << 20), Map.of("A", "b"));

        assertThat(host.configure(1, Optional.of(serving(four, 8, Duration.ZERO)))).isEqualTo(ModelHost.Change.NOT_LOADED);
        use(host, 1);

        assertThat(model(1).resources).isEqualTo(four);
        assertThat(host.servingOf(1).maxBatchSize()).isEqualTo(8);
        assertThat(host.servingOf(2)).isEqualTo(host.defaults());
    }

    @Test
    void newBatchingReachesALoadedVersionWithoutLoadingItAgain() {
        ModelHost host = host(1000, Duration.ZERO);
        use(host, 1);

        assertThat(host.configure(1, Optional.of(serving(Resources.DEFAULT, 16, Duration.ZERO))))
                .isEqualTo(ModelHost.Change.BATCHING);
        assertThat(host.configure(1, Optional.of(serving(Resources.DEFAULT, 16, Duration.ZERO))))
                .isEqualTo(ModelHost.Change.UNCHANGED);

        assertThat(loads).hasSize(1);
    }

    @Test
    void newResourcesLoadASecondCopyThatReplacesTheFirstWhileHoldersFinishOnTheOld() {
        ModelHost host = host(1000, Duration.ZERO);
        use(host, 1);
        Fake old = model(1);
        ModelHost.Lease held = host.acquire(version(1));
        Resources two = new Resources(2, Optional.empty(), Map.of());

        assertThat(host.configure(1, Optional.of(serving(two, 1, Duration.ZERO))))
                .isEqualTo(ModelHost.Change.RELOAD_NEEDED);
        assertThat(loads).as("configure leaves the load to the caller").hasSize(1);
        host.reload(version(1));

        assertThat(loads).hasSize(2);
        assertThat(model(1)).isNotSameAs(old);
        assertThat(model(1).resources).isEqualTo(two);
        assertThat(old.closed).as("still held").isFalse();
        ModelHost.Lease fresh = host.acquire(version(1));
        assertThat(fresh.model()).isSameAs(model(1));
        fresh.release();
        held.release();
        assertThat(old.closed).isTrue();
        assertThat(model(1).closed).isFalse();
        assertThat(host.configure(1, Optional.empty())).as("back to the defaults: other resources again")
                .isEqualTo(ModelHost.Change.RELOAD_NEEDED);
    }

    @Test
    void aVersionsOwnIdleTimeDecidesWhenItUnloads() {
        ModelHost host = host(1000, Duration.ZERO);
        host.configure(1, Optional.of(serving(Resources.DEFAULT, 1, Duration.ofMinutes(1))));
        use(host, 1);
        use(host, 2);

        ticker.advanceMillis(61_000);
        host.sweepIdle();

        assertThat(loadedOf(host)).as("2 has the server's default: never").containsExactly(2L);
    }

    @Test
    void aWarmUpSampleIsTheWarmUpCallAndAModelThatRejectsItDoesNotLoad() throws Exception {
        ModelHost host = host(1000, Duration.ZERO);
        JsonNode sample = new ObjectMapper().readTree("{\"inputs\": {\"x\": [[1, 2, 3], [4, 5, 6]], \"s\": [\"a\", \"b\"]}}");
        Serving withSample = new Serving(Resources.DEFAULT, 1, Duration.ofMillis(2), Duration.ZERO,
                Optional.of(WarmUp.Sample.of(sample)));
        Fake good = new Fake(100);
        List<long[]> seen = new ArrayList<>();
        good.onInfer = inputs -> seen.add(inputs.get(0).shape());
        models.put(1L, good);
        host.configure(1, Optional.of(withSample));

        host.acquire(version(1)).release();

        assertThat(seen).as("the sample's two rows, not a row of zeros").hasSize(1);
        assertThat(seen.get(0)).containsExactly(2, 3);
        Fake picky = new Fake(100);
        picky.onInfer = inputs -> {
            throw new ProblemException(ProblemType.MODEL_ERROR, "the model raised ValueError");
        };
        models.put(2L, picky);
        host.configure(2, Optional.of(withSample));

        assertThatThrownBy(() -> host.acquire(version(2))).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_DEPLOYMENT);
            assertThat(e.detail()).contains("the warm-up sample of m2 v1 failed: the model raised ValueError");
        });
        assertThat(host.isLoaded(2)).isFalse();
        assertThat(picky.closed).isTrue();
    }

    private static Serving serving(Resources resources, int maxBatch, Duration idle) {
        return new Serving(resources, maxBatch, Duration.ofMillis(2), idle, Optional.empty());
    }

    private ModelHost host(long budget, Duration idle) {
        BatchingConfig batching = new BatchingConfig(1, Duration.ofMillis(2), 16, Duration.ofSeconds(30));
        return new ModelHost((v, resources) -> {
            if (loadFailure != null) {
                throw loadFailure;
            }
            Fake fake = models.computeIfAbsent(v.id(), id -> new Fake(100));
            if (fake.closed || (fake.resources != null && !fake.resources.equals(resources))) {
                fake = new Fake(100); // loaded again after an unload, or with other resources: a fresh instance
                models.put(v.id(), fake);
            }
            fake.resources = resources;
            loads.add(fake);
            return fake;
        }, new HostingConfig(budget, idle), Serving.defaults(batching, new HostingConfig(budget, idle)),
                (v, m, serving) -> new Batcher(m, v.modelName(), v.version(), false, serving.batching(batching), 1,
                        Runnable::run, ticker, meters),
                loadRunner, 16, ticker, meters);
    }

    /** One request on the version: acquire, call, release, a millisecond later on the clock. */
    private void use(ModelHost host, long id) {
        ticker.advanceMillis(1);
        host.withModel(version(id), m -> m.infer(List.of(), Set.of()));
    }

    private Fake model(long id) {
        return models.get(id);
    }

    private static List<Long> loadedOf(ModelHost host) {
        List<Long> ids = new ArrayList<>();
        for (long id = 1; id <= 10; id++) {
            if (host.isLoaded(id)) {
                ids.add(id);
            }
        }
        return ids;
    }

    private static ModelVersion version(long id) {
        return new ModelVersion(id, id, "m" + id, 1, "onnx", "onnx", "0".repeat(64), 10, "key", "m.onnx",
                Fake.SIGNATURE, VersionState.ACTIVE, VersionStatus.READY, "", Optional.empty(), Map.of(),
                Instant.EPOCH, Instant.EPOCH, Optional.empty());
    }

    private static final class Fake implements LoadedModel {
        static final Signature SIGNATURE = new Signature(List.of(
                TensorSpec.tensor("x", DataType.FP32, List.of(-1L, 3L)),
                TensorSpec.tensor("s", DataType.BYTES, List.of(-1L))),
                List.of(TensorSpec.tensor("y", DataType.FP32, List.of(-1L))));

        final long memory;
        volatile boolean closed;
        Resources resources;
        int calls;
        java.util.function.Consumer<List<Tensor>> onInfer = inputs -> { };

        Fake(long memory) {
            this.memory = memory;
        }

        @Override
        public Signature signature() {
            return SIGNATURE;
        }

        @Override
        public synchronized Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
            if (closed) {
                throw new IllegalStateException("called after close");
            }
            calls++;
            if (!inputs.isEmpty()) {
                onInfer.accept(inputs);
            }
            return Map.of();
        }

        @Override
        public long memoryBytes() {
            return memory;
        }

        @Override
        public void close() {
            if (closed) {
                throw new IllegalStateException("closed twice");
            }
            closed = true;
        }
    }
}
