package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Deployments under load with a slow Python handler, one inference thread and a queue of one:
 * a full queue answers 503 at once, a passed deadline 504, deleting waits for the calls in
 * flight, and a version whose environment failed cannot be deployed.
 */
class DeploymentQueueIT {
    /** Sleeps 1.5 s when x[0][0] is 666. */
    static final String SLOW = """
            import time
            import numpy as np
            SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                         "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
            def load(model_dir):
                pass
            def predict(inputs):
                x = np.asarray(inputs["x"], dtype=np.float64)
                if x[0][0] == 666:
                    time.sleep(1.5)
                return {"y": x + 1}
            """;

    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        // The response cache would answer repeated identical calls without queueing them: off here.
        server = TestServer.start(dataDir, Map.of("SERVEML_CACHE", "off", "SERVEML_QUEUE_CAPACITY", "1",
                "SERVEML_INFERENCE_THREADS", "1",
                "SERVEML_PYTHON_TIMEOUT", "10s"));
        HttpResponse<String> r = server.upload("slowpy", "slow.zip", Fixtures.zip(Map.of("handler.py", SLOW)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
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

    @Test
    void aFullQueueAnswers503AtOnceWithRetryAfterWhileTheAdmittedCallsSucceed() throws Exception {
        deploy("busy");
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            calls.add(CompletableFuture.supplyAsync(() -> call("busy", 666, null)));
            // Let time pass between the calls so they arrive in turn; no condition to poll for.
            Thread.sleep(50);
        }
        int ok = 0;
        int full = 0;
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            HttpResponse<String> r = c.get();
            if (r.statusCode() == 200) {
                ok++;
                assertThat(json(r).get("outputs").get("y")).isEqualTo(json("[[667.0]]"));
            } else {
                full++;
                assertProblem(r, 503, "queue-full", "slowpy");
                assertThat(r.headers().firstValue("Retry-After")).isPresent();
            }
        }
        assertThat(ok).isGreaterThanOrEqualTo(2);
        assertThat(full).isGreaterThanOrEqualTo(1);
        assertThat(server.get("/metrics").body()).contains("serveml_deployment_requests_rejected_total{deployment=\"busy\","
                + "reason=\"queue_full\",version=\"1\"} " + full + ".0");
    }

    @Test
    void aCallWhoseDeadlinePassesWhileQueuedAnswers504() throws Exception {
        deploy("late");
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> call("late", 666, null));
        // Let time pass for the slow call to reach its worker: the server exposes nothing that says so.
        Thread.sleep(400);
        long started = System.nanoTime();
        HttpResponse<String> late = call("late", 1, 300);
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        assertProblem(late, 504, "inference-timeout", "deadline");
        assertThat(tookMs).isLessThan(1_400);
        assertThat(slow.get().statusCode()).isEqualTo(200);
        assertThat(server.get("/metrics").body()).contains("serveml_deployment_requests_rejected_total{deployment=\"late\","
                + "reason=\"timeout\",version=\"1\"} 1.0");
    }

    @Test
    void deletingADeploymentWaitsForItsCallsInFlight() throws Exception {
        deploy("drained");
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> call("drained", 666, null));
        // Let time pass for the slow call to reach its worker: the server exposes nothing that says so.
        Thread.sleep(400);
        HttpResponse<String> deleted = server.delete("/api/v1/deployments/drained");
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
