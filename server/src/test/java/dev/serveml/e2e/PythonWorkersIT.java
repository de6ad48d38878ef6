package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Worker supervision and the sandbox, with real worker processes: kill -9 mid-request and
 * mid-load, timeouts, crash loops, idle stop and cold start, and pickles that attack the host.
 */
class PythonWorkersIT {
    @TempDir
    static Path dataDir;
    static TestServer server;

    /** A handler that misbehaves on request: x[0][0] of 777 sleeps 1 s, 666 sleeps 5 s, 999 sleeps 30 s, 13 exits. */
    static final String MISCHIEF = """
            import os, sys, time
            import numpy as np
            SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                         "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
            def load(model_dir):
                if os.path.exists(os.path.join(model_dir, "slow_load")):
                    time.sleep(20)
            def predict(inputs):
                x = np.asarray(inputs["x"], dtype=np.float64)
                if x[0][0] == 777:
                    time.sleep(1)
                if x[0][0] == 666:
                    time.sleep(5)
                if x[0][0] == 999:
                    time.sleep(30)
                if x[0][0] == 13:
                    sys.stderr.write("boom: exiting on purpose\\n")
                    sys.stderr.flush()
                    os._exit(7)
                return {"y": x + 1}
            """;

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn");
        server = TestServer.start(dataDir, Map.of("SERVEML_PYTHON_TIMEOUT", "2s",
                "SERVEML_PYTHON_IDLE_TIMEOUT", "3s", "SERVEML_PYTHON_MEMORY_LIMIT", "1GB"));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static void uploadMischief(String name) {
        HttpResponse<String> r = server.upload(name, "mischief.zip", Fixtures.zip(Map.of("handler.py", MISCHIEF)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    static HttpResponse<String> call(String name, double x) {
        return server.postJson("/api/v1/models/" + name + "/predict", "{\"inputs\": {\"x\": [[" + x + "]]}}");
    }

    /** Python worker processes (not their bubblewrap parents) started by this JVM. */
    static Set<ProcessHandle> workers() {
        return Set.copyOf(ProcessHandle.current().descendants()
                .filter(p -> p.info().commandLine().map(c -> c.contains("-m serveml_worker") && !c.contains("bwrap"))
                        .orElse(false))
                .toList());
    }

    static ProcessHandle newWorker(Set<ProcessHandle> before) {
        Poll.until(() -> workers().stream().anyMatch(p -> !before.contains(p)), Duration.ofSeconds(30), "a new worker");
        return workers().stream().filter(p -> !before.contains(p)).findFirst().orElseThrow();
    }

    @Test
    void aRequestWhoseWorkerIsKilledUnderItIsAnsweredByAnotherWorker() throws Exception {
        Set<ProcessHandle> before = workers();
        uploadMischief("killed");
        HttpResponse<String> d = server.postJson("/api/v1/deployments", "{\"name\": \"killed\", \"model\": "
                + "\"killed\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, "
                + "\"config\": {\"instances\": 2}}");
        assertThat(d.statusCode()).as(d.body()).isEqualTo(201);
        Poll.until(() -> json(server.get("/api/v1/deployments/killed")).get("status").asText().equals("active"),
                Duration.ofSeconds(60), "the deployment to be active");
        Poll.until(() -> workers().stream().filter(p -> !before.contains(p)).count() >= 2, Duration.ofSeconds(30),
                "two workers");
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> server.postJson(
                "/api/v1/deployments/killed/predict", "{\"inputs\": {\"x\": [[777]]}}"));
        // The worker serving it sleeps for a second; the idle one waits on its socket.
        Poll.until(() -> sleeping(before).isPresent(), Duration.ofSeconds(5), "a worker busy with the call");
        ProcessHandle busy = sleeping(before).orElseThrow();
        assertThat(busy.destroyForcibly()).isTrue();

        HttpResponse<String> r = slow.get();

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("outputs").get("y")).isEqualTo(json("[[778.0]]"));
        Poll.until(() -> workers().stream().filter(p -> !before.contains(p) && p.isAlive()).count() >= 2,
                Duration.ofSeconds(30), "the killed worker's replacement");
    }

    @Test
    void aRequestWhoseWorkersDieTwiceGetsARetryable503() {
        uploadMischief("killer-input");
        HttpResponse<String> r = call("killer-input", 13);
        assertProblem(r, 503, "model-unavailable", "died during this request (tried twice)");
        assertThat(r.headers().firstValue("Retry-After")).isPresent();
        Poll.until(() -> call("killer-input", 1).statusCode() == 200, Duration.ofSeconds(20), "a replacement worker");
    }

    static long retryAfter(HttpResponse<String> r) {
        return r.headers().firstValue("Retry-After").map(Long::parseLong).orElse(0L);
    }

    /** A new worker that is asleep in the kernel's nanosleep (time.sleep), read from /proc. */
    static java.util.Optional<ProcessHandle> sleeping(Set<ProcessHandle> before) {
        return workers().stream().filter(p -> !before.contains(p)).filter(p -> {
            try {
                return Files.readString(Path.of("/proc/" + p.pid() + "/wchan")).contains("nanosleep");
            } catch (java.io.IOException e) {
                return false;
            }
        }).findFirst();
    }

    @Test
    void aWorkerKilledWhileLoadingFailsTheUploadCleanly() throws Exception {
        Set<ProcessHandle> before = workers();
        byte[] archive = Fixtures.zip(Map.of("handler.py", MISCHIEF, "slow_load", ""));
        CompletableFuture<HttpResponse<String>> upload = CompletableFuture.supplyAsync(
                () -> server.upload("halfloaded", "slow.zip", archive));
        // The new worker is inside its slow load once it sleeps in the kernel.
        ProcessHandle worker = Poll.until(() -> sleeping(before).orElse(null), p -> true, Duration.ofSeconds(30),
                "a new worker asleep in its load");
        worker.destroyForcibly();
        assertProblem(upload.get(), 422, "invalid-model", "exited while loading");
        assertProblem(server.get("/api/v1/models/halfloaded"), 404, "model-not-found", "halfloaded");
    }

    @Test
    void aRequestPastItsTimeoutIs504AndItsWorkerIsReplaced() {
        uploadMischief("sleepy");
        HttpResponse<String> r = call("sleepy", 999);
        assertProblem(r, 504, "inference-timeout", "did not answer within 2000 ms");
        Poll.until(() -> call("sleepy", 1).statusCode() == 200, Duration.ofSeconds(20), "the replacement worker");
    }

    @Test
    void workersThatKeepCrashingOpenTheCircuitAndAProbeClosesItAgain() {
        uploadMischief("crashy");
        Poll.until(() -> {
            HttpResponse<String> r = call("crashy", 13);
            return r.statusCode() == 503 && json(r).get("detail").asText().contains("is not taking calls");
        }, Duration.ofSeconds(90), "the circuit to open");

        // Open: every call is refused at once, saying when to come back; nothing is failed for good.
        HttpResponse<String> refused = call("crashy", 1);
        assertThat(assertProblem(refused, 503, "model-unavailable", "crashed 5 times").get("detail").asText())
                .contains("boom: exiting on purpose");
        long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 5L);
        JsonNode v = json(server.get("/api/v1/models/crashy/versions/1"));
        assertThat(v.get("status").asText()).isEqualTo("ready");
        assertThat(v.get("unavailable").asText()).contains("crashed 5 times", "refused");
        JsonNode ready = json(server.get("/health/ready"));
        assertThat(ready.get("checks").get("models").asText()).contains("1 loaded version(s) refusing calls");
        assertThat(ready.toString()).doesNotContain("crashy");

        // After the cool-down one call probes it; answered, the circuit closes and calls flow again.
        Poll.until(() -> call("crashy", 1).statusCode() == 200, Duration.ofSeconds(30), "the probe to close the circuit");
        assertThat(json(call("crashy", 2)).get("outputs").get("y")).isEqualTo(json("[[3.0]]"));
        assertThat(json(server.get("/api/v1/models/crashy/versions/1")).get("unavailable").isNull()).isTrue();
        assertThat(json(server.get("/health/ready")).get("checks").get("models").asText()).isEqualTo("UP");
    }

    @Test
    void aProbeWhoseWorkerDiesOpensTheCircuitForLonger() {
        uploadMischief("crashy-probe");
        Poll.until(() -> {
            HttpResponse<String> r = call("crashy-probe", 13);
            return r.statusCode() == 503 && json(r).get("detail").asText().contains("is not taking calls");
        }, Duration.ofSeconds(90), "the circuit to open");
        // The first call after the 5 s cool-down is the probe; it crashes the worker again: 10 s now.
        Poll.until(() -> retryAfter(call("crashy-probe", 13)) > 5, Duration.ofSeconds(30), "the circuit to open again");
        HttpResponse<String> refused = call("crashy-probe", 1);
        assertProblem(refused, 503, "model-unavailable", "is not taking calls");
        assertThat(retryAfter(refused)).isBetween(6L, 10L);
    }

    @Test
    void idleWorkersAreStoppedAndTheNextCallStartsThemAgain() {
        Set<ProcessHandle> before = workers();
        uploadMischief("idler");
        ProcessHandle worker = newWorker(before);
        assertThat(call("idler", 1).statusCode()).isEqualTo(200);
        Poll.until(() -> !worker.isAlive(), Duration.ofSeconds(20), "the idle worker to stop");
        HttpResponse<String> cold = call("idler", 2);
        assertThat(cold.statusCode()).isEqualTo(200);
        assertThat(json(cold).get("outputs").get("y")).isEqualTo(json("[[3.0]]"));
        assertThat(server.get("/metrics").body()).contains("serveml_cold_start_seconds_count{model=\"idler\"} 1");
    }

    @Test
    void aPickleThatOpensASocketCannotReachTheHost() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(300);
            String code = "__import__('socket').create_connection(('127.0.0.1', " + listener.getLocalPort() + "), 2)";
            HttpResponse<String> r = server.upload("evil-socket", "evil.pkl", evalPickle(code));
            assertProblem(r, 422, "invalid-model", "could not be loaded");
            assertThat(json(r).get("detail").asText()).containsAnyOf("Connection refused", "unreachable");
            try {
                listener.accept().close();
                throw new AssertionError("the sandboxed pickle reached the host's loopback");
            } catch (SocketTimeoutException expected) {
                // nothing connected: the worker has no route to the host
            }
        }
        assertServingStill();
    }

    @Test
    void aPickleThatWritesOutsideItsDirectoryIsStoppedByTheReadOnlyFilesystem() {
        // The sandbox shows neither /var nor /root: the write fails as a missing (or read-only) place.
        JsonNode p = assertProblem(server.upload("evil-write", "evil_write.pkl", fixture("python/evil_write.pkl")), 422,
                "invalid-model", "could not be loaded");
        assertThat(p.get("detail").asText()).containsAnyOf("No such file or directory", "Read-only file system");
        assertThat(Files.exists(Path.of("/var/tmp/serveml-evil-write-marker"))).isFalse();
        assertThat(Files.exists(Path.of("/root/serveml-evil-write-marker"))).isFalse();
        assertServingStill();
    }

    @Test
    void aPickleThatAllocatesPastTheLimitIsStoppedAndReported() {
        assertProblem(server.upload("evil-memory", "evil_memory.pkl", fixture("python/evil_memory.pkl")), 422,
                "invalid-model", "needs more memory than its limit (1024 MiB)");
        assertServingStill();
    }

    private static void assertServingStill() {
        String name = "bystander-" + System.nanoTime();
        assertThat(server.upload(name, "iris_rf.pkl", fixture("iris_rf.pkl")).statusCode()).isEqualTo(201);
        assertThat(json(server.postJson("/api/v1/models/" + name + "/predict", "{\"features\": [6.7, 3.0, 5.2, 2.3]}"))
                .get("predictions").get(0).get("label").asLong()).isEqualTo(2);
    }

    /** A protocol-0 pickle whose loading evaluates {@code code} (no quotes or newlines inside). */
    static byte[] evalPickle(String code) {
        return ("cbuiltins\neval\n(V" + code + "\ntR.").getBytes(StandardCharsets.UTF_8);
    }

}
