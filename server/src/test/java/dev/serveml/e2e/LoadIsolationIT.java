package dev.serveml.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model that loads slowly does not stall the others (issue 13): while a Python handler whose
 * {@code load()} sleeps has a crowd of callers waiting for its cold load, the iris ONNX model
 * already in memory keeps most of its throughput; the waiters keep their queue bound and deadline.
 * Three inference threads, as on a two-core machine, so the crowd outnumbers them.
 */
class LoadIsolationIT {
    private static final int LOAD_SECONDS = 15;
    private static final int WAITERS = 12;
    private static final int CLIENTS = 4;
    private static final Duration WINDOW = Duration.ofSeconds(3);
    private static final String IRIS = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";
    private static final String SLOW_HANDLER = """
            import os, time
            import numpy as np
            SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                         "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
            def load(model_dir):
                with open(os.path.join(model_dir, "slow_load")) as f:
                    time.sleep(float(f.read()))
            def predict(inputs):
                return {"y": np.asarray(inputs["x"], dtype=np.float64) + 1}
            """;

    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        server = TestServer.start(dataDir, Map.of("SERVEML_INFERENCE_THREADS", "3", "SERVEML_CACHE", "off",
                "SERVEML_QUEUE_CAPACITY", String.valueOf(WAITERS + 1), "SERVEML_REQUEST_TIMEOUT", "90s",
                "SERVEML_RATE_LIMIT", "100000000"));
        assertThat(server.upload("iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        // The upload's validation load sleeps too; then the model is dropped so the next call loads it cold.
        HttpResponse<String> up = server.upload("slow", "slow.zip", Fixtures.zip(Map.of("handler.py", SLOW_HANDLER,
                "slow_load", String.valueOf(LOAD_SECONDS))));
        assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void theOnnxModelKeepsItsThroughputWhileAPythonModelLoadsColdForTwelveWaitingCallers() throws Exception {
        HttpResponse<String> unload = server.postJson("/v2/repository/models/slow/unload", "{}");
        assertThat(unload.statusCode()).as(unload.body()).isEqualTo(200);
        assertThat(server.postJson("/api/v1/models/iris/predict", IRIS).statusCode()).isEqualTo(200);
        throughput(Duration.ofSeconds(3)); // warm-up: JIT, connections
        double before = throughput(WINDOW);

        ExecutorService callers = Executors.newFixedThreadPool(WAITERS + 2);
        try {
            List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
            for (int i = 0; i < WAITERS; i++) {
                waiting.add(CompletableFuture.supplyAsync(() -> callSlow(Map.of()), callers));
            }
            Thread.sleep(1_000); // lets the crowd arrive; nothing below depends on exactly when
            // The 13th of a queue of 13, with a deadline that passes while the model still loads.
            CompletableFuture<HttpResponse<String>> hurried = CompletableFuture.supplyAsync(
                    () -> callSlow(Map.of("X-Request-Timeout", "6000")), callers);
            double during = throughput(WINDOW);
            HttpResponse<String> full = callSlow(Map.of()); // the 14th: refused at once
            HttpResponse<String> hurriedAnswer = hurried.get();
            boolean loadOutlastedTheWindow = waiting.stream().noneMatch(CompletableFuture::isDone);

            System.out.printf("iris ONNX, %d clients: %.0f req/s before, %.0f req/s while %s loads cold for %d "
                    + "callers (%.0f%%)%n", CLIENTS, before, during, "slow", WAITERS, 100 * during / before);
            assertThat(during).as("ONNX req/s during the load vs %.0f before", before).isGreaterThanOrEqualTo(
                    0.5 * before);
            assertThat(loadOutlastedTheWindow).as("the slow load was still under way after the window and the 504")
                    .isTrue();
            assertProblem(hurriedAnswer, 504, "inference-timeout", "to load");
            assertProblem(full, 503, "queue-full", "is full");
            for (CompletableFuture<HttpResponse<String>> f : waiting) {
                HttpResponse<String> r = f.get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(json(r).get("outputs").get("y")).isEqualTo(json("[[2.0]]"));
            }
        } finally {
            callers.shutdownNow();
        }
    }

    private static HttpResponse<String> callSlow(Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri("/api/v1/models/slow/predict"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": {\"x\": [[1.0]]}}"));
        headers.forEach(b::header);
        return server.send(b.build());
    }

    /** Successful iris predictions per second from {@link #CLIENTS} clients in turn, over this window. */
    private static double throughput(Duration window) throws Exception {
        AtomicLong ok = new AtomicLong();
        AtomicBoolean open = new AtomicBoolean(true);
        long start = System.nanoTime();
        long end = start + window.toNanos();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            Thread t = new Thread(() -> {
                while (open.get()) {
                    HttpRequest request = HttpRequest.newBuilder(server.uri("/api/v1/models/iris/predict"))
                            .header("Content-Type", "application/json").timeout(window)
                            .POST(HttpRequest.BodyPublishers.ofString(IRIS)).build();
                    try {
                        HttpResponse<String> r = server.send(request);
                        if (r.statusCode() == 200 && System.nanoTime() <= end) {
                            ok.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        // timed out: a stalled server counts nothing for this window
                    }
                }
            });
            t.start();
            clients.add(t);
        }
        Thread.sleep(window.toMillis());
        open.set(false);
        for (Thread t : clients) {
            t.join();
        }
        return ok.get() * 1e9 / window.toNanos();
    }
}
