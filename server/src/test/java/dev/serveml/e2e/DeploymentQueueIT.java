package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Deployments under load with a Python handler that holds a call until the test lets it go, one
 * inference thread and a queue of one: a full queue answers 503 at once, a passed deadline 504
 * while the call ahead still runs, deleting waits for the calls in flight, and a version whose
 * environment failed cannot be deployed. Nothing here waits for time to pass: each step waits for
 * what the server answers, so two busy cores make it slower, never wrong.
 */
class DeploymentQueueIT {
    /**
     * Holds a call whose x[0][0] is 1000 or more until the file release-&lt;x&gt; appears in its
     * model directory (which the sandbox binds read-only, so a file the test adds shows inside).
     */
    static final String HOLDING = """
            import os, time
            import numpy as np
            # DeploymentQueueIT: held calls
            SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                         "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
            MODEL_DIR = None
            def load(model_dir):
                global MODEL_DIR
                MODEL_DIR = model_dir
            def predict(inputs):
                x = np.asarray(inputs["x"], dtype=np.float64)
                if x[0][0] >= 1000:
                    gate = os.path.join(MODEL_DIR, "release-%d" % int(x[0][0]))
                    while not os.path.exists(gate):
                        time.sleep(0.01)
                return {"y": x + 1}
            """;

    @TempDir
    static Path dataDir;
    static TestServer server;
    /** The callers' threads: the common pool has a single thread on two cores. */
    static final ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor();

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        // The response cache would answer repeated identical calls without queueing them: off here.
        server = TestServer.start(dataDir, Map.of("SERVEML_CACHE", "off", "SERVEML_QUEUE_CAPACITY", "1",
                "SERVEML_INFERENCE_THREADS", "1",
                "SERVEML_PYTHON_TIMEOUT", "10s"));
        HttpResponse<String> r = server.upload("slowpy", "slow.zip", Fixtures.zip(Map.of("handler.py", HOLDING)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        callers.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    static void deploy(String name) {
        HttpResponse<String> r = server.postJson("/api/v1/deployments", "{\"name\": \"" + name + "\", \"model\": \"slowpy\","
                + " \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": {\"min_instances\": 1}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        server.awaitDeployment(name, "active");
    }

    static HttpResponse<String> call(String name, double x, Integer timeoutMs) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri("/api/v1/deployments/" + name + "/predict"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": {\"x\": [[" + x + "]]}}"));
        if (timeoutMs != null) {
            b.header("X-Request-Timeout", timeoutMs.toString());
        }
        return server.send(b.build());
    }

    /**
     * Sends a call that the worker holds until {@link #release}{@code (gate)}, and returns once it
     * holds the version's one call slot: a call with a short deadline then waits in the queue and
     * is answered 504, where before it ran at once.
     */
    static CompletableFuture<HttpResponse<String>> hold(String name, int gate) {
        CompletableFuture<HttpResponse<String>> held = CompletableFuture.supplyAsync(() -> call(name, gate, null), callers);
        Poll.until(() -> {
            if (held.isDone()) {
                throw new AssertionError("the held call was answered: " + held.join().body());
            }
            return call(name, 1, 200).statusCode() == 504;
        }, Duration.ofSeconds(30), "the held call to take the call slot");
        return held;
    }

    /** Lets the calls held at {@code gate} answer. */
    static void release(int gate) {
        try (Stream<Path> files = Files.walk(server.dataDir().resolve("python"))) {
            List<Path> handlers = files.filter(f -> f.getFileName().toString().equals("handler.py"))
                    .filter(f -> read(f).contains("DeploymentQueueIT: held calls")).toList();
            assertThat(handlers).as("the model's unpacked handler").isNotEmpty();
            for (Path h : handlers) {
                Files.createFile(h.resolveSibling("release-" + gate));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return ""; // a worker's directory going away meanwhile
        }
    }

    static double queueDepth() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "serveml_queue_depth\\{model=\"slowpy\",version=\"1\"} ([0-9.]+)").matcher(server.get("/metrics").body());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void aFullQueueAnswers503AtOnceWithRetryAfterWhileTheAdmittedCallsSucceed() throws Exception {
        deploy("busy");
        CompletableFuture<HttpResponse<String>> running = hold("busy", 1001);
        CompletableFuture<HttpResponse<String>> queued = CompletableFuture.supplyAsync(() -> call("busy", 5, null), callers);
        Poll.until(() -> queueDepth() == 1, Duration.ofSeconds(30), "the second call to wait in the queue");
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = call("busy", 6, null);
            assertProblem(r, 503, "queue-full", "slowpy");
            assertThat(r.headers().firstValue("Retry-After")).isPresent();
        }
        assertThat(running.isDone() || queued.isDone()).as("the admitted calls wait, the others were refused at once")
                .isFalse();
        release(1001);
        assertThat(json(running.get()).get("outputs").get("y")).isEqualTo(json("[[1002.0]]"));
        assertThat(json(queued.get()).get("outputs").get("y")).isEqualTo(json("[[6.0]]"));
        assertThat(server.get("/metrics").body()).contains("serveml_deployment_requests_rejected_total{deployment=\"busy\","
                + "reason=\"queue_full\",version=\"1\"} 4.0");
    }

    @Test
    void aCallWhoseDeadlinePassesWhileQueuedAnswers504() throws Exception {
        deploy("late");
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> call("late", 2001, null), callers);
        // A call with a deadline runs at once while the slot is free; once the held call has it, the
        // next one waits in the queue and must be answered at its deadline, not when the slot frees.
        HttpResponse<String> late = Poll.until(() -> call("late", 1, 300), r -> r.statusCode() == 504,
                Duration.ofSeconds(30), "a call queued behind the held one to pass its deadline");
        assertProblem(late, 504, "inference-timeout", "deadline");
        assertThat(slow.isDone()).as("answered while the call ahead of it still runs").isFalse();
        release(2001);
        assertThat(slow.get().statusCode()).isEqualTo(200);
        assertThat(server.get("/metrics").body()).contains("serveml_deployment_requests_rejected_total{deployment=\"late\","
                + "reason=\"timeout\",version=\"1\"} 1.0");
    }

    @Test
    void deletingADeploymentWaitsForItsCallsInFlight() throws Exception {
        deploy("drained");
        CompletableFuture<HttpResponse<String>> slow = hold("drained", 3001);
        CompletableFuture<HttpResponse<String>> deleting = CompletableFuture.supplyAsync(
                () -> server.delete("/api/v1/deployments/drained"), callers);
        // The delete has begun once the name is gone for new calls; then it waits for the held one.
        Poll.until(() -> call("drained", 1, 200).statusCode() == 404, Duration.ofSeconds(30), "the delete to begin");
        assertThat(deleting.isDone()).as("the delete waits for the call in flight").isFalse();
        release(3001);
        HttpResponse<String> deleted = deleting.get();
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        assertThat(slow.isDone()).as("the delete answered before the call in flight").isTrue();
        HttpResponse<String> r = slow.get();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("deployment").asText()).isEqualTo("drained");
        assertProblem(call("drained", 1, null), 404, "deployment-not-found", "drained");
    }

    @Test
    void aVersionWhoseEnvironmentFailedCannotBeDeployed() {
        assertProblem(server.upload("broken-env", "needs_missing_pkg.zip", fixture("python/needs_missing_pkg.zip")),
                422, "environment-failed", "registered as failed");
        JsonNode p = assertProblem(server.postJson("/api/v1/deployments", "{\"name\": \"broken\", \"model\": \"broken-env\","
                + " \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}"), 422, "invalid-deployment", "failed");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/policy/versions/0/version");
    }
}
