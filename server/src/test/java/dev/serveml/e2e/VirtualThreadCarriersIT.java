package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12 item 1: with as many virtual-thread carriers as a 2-core machine has, Python workers
 * must not take them all. The server runs in a child JVM started with
 * {@code -Djdk.virtualThreadScheduler.parallelism=2} (the property only counts before the first
 * virtual thread, so the in-process TestServer cannot have it), four Python models are loaded,
 * and for 60 s calls that need a credential lookup (a new API key each time: the lookup runs on a
 * virtual thread) and deployment rollouts (virtual threads too) must keep answering. Before the
 * fix, the workers' log readers pinned both carriers and such calls hung once the JDK's
 * compensating carrier retired (~30 s).
 */
class VirtualThreadCarriersIT {
    private static final Duration CALL_LIMIT = Duration.ofSeconds(20);
    private static final Duration IDLE = Duration.ofSeconds(40);
    private static final String PASSWORD = "admin-password-for-tests";

    @TempDir
    static Path dataDir;
    static Process server;
    static URI base;
    static final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Djdk.virtualThreadScheduler.parallelism=2", "-Xmx768m",
                "-cp", System.getProperty("java.class.path"), "dev.serveml.server.Main")
                .redirectErrorStream(true).redirectOutput(dataDir.resolve("server.log").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("SERVEML_"));
        pb.environment().put("SERVEML_DATA_DIR", dataDir.resolve("data").toString());
        pb.environment().put("SERVEML_HTTP_HOST", "127.0.0.1");
        pb.environment().put("SERVEML_HTTP_PORT", Integer.toString(port));
        pb.environment().put("SERVEML_ADMIN_PASSWORD", PASSWORD);
        pb.environment().put("SERVEML_BCRYPT_COST", "4");
        server = pb.start();
        base = URI.create("http://127.0.0.1:" + port);
        try {
            Poll.until(() -> {
                if (!server.isAlive()) {
                    throw new AssertionError("the server exited");
                }
                try {
                    return send(HttpRequest.newBuilder(base.resolve("/health/live")).GET(), null).statusCode() == 200;
                } catch (IOException notYet) {
                    return false; // still starting
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, Duration.ofSeconds(120), "the server to be live");
        } catch (AssertionError e) {
            throw new AssertionError("the server did not start: " + log(), e);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.destroy(); // SIGTERM: the server stops its workers and its PostgreSQL
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                server.descendants().forEach(ProcessHandle::destroyForcibly);
                server.destroyForcibly();
            }
        }
    }

    @Test
    void credentialLookupsAndRolloutsKeepAnsweringWhileFourPythonModelsRunOnTwoCarriers() throws Exception {
        String token = json(post("/api/v1/auth/login", null, "{\"username\": \"admin\", \"password\": \""
                + PASSWORD + "\"}", 200)).get("access_token").asText();
        for (int i = 1; i <= 4; i++) {
            String boundary = "b-" + UUID.randomUUID();
            HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve("/api/v1/models/py" + i + "/versions"))
                    .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file",
                            "handler_model.zip", fixture("python/handler_model.zip")))), token);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        }
        post("/api/v1/deployments", token, "{\"name\": \"rolling\", \"model\": \"py1\", \"policy\": {\"versions\": "
                + "[{\"version\": 1, \"weight\": 100}]}}", 201);
        awaitActive(token);

        // Quiet first, as when the lock-up was found: the JDK retires an idle compensating carrier
        // after about 30 s, and after that only the two real carriers are left.
        long loaded = System.nanoTime();
        Thread.sleep(IDLE.toMillis());
        List<String> answered = new ArrayList<>();
        long end = loaded + Duration.ofSeconds(60).toNanos();
        for (int round = 0; System.nanoTime() < end; round++) {
            for (int i = 1; i <= 4; i++) {
                HttpResponse<String> p = post("/api/v1/models/py" + i + "/predict", token,
                        "{\"inputs\": {\"x\": [[1, 2]]}}", 200);
                assertThat(json(p).get("outputs").get("doubled")).isEqualTo(json("[[2.5, 4.5]]"));
            }
            // A key never seen before: the server must look it up (on a virtual thread) to answer.
            String key = json(post("/api/v1/api-keys", token, "{\"name\": \"k" + round + "\", \"scopes\": "
                    + "[\"predict\", \"models:read\"]}", 201)).get("key").asText();
            HttpResponse<String> me = send(HttpRequest.newBuilder(base.resolve("/api/v1/auth/me"))
                    .header("X-API-Key", key).GET(), null);
            assertThat(me.statusCode()).as(me.body()).isEqualTo(200);
            if (round % 5 == 0) {
                // A rollout: the new batching settings are taken on a virtual thread.
                HttpResponse<String> patched = send(HttpRequest.newBuilder(base.resolve("/api/v1/deployments/rolling"))
                        .header("Content-Type", "application/json").method("PATCH", HttpRequest.BodyPublishers
                                .ofString("{\"config\": {\"max_batch_size\": " + (round + 2) + "}}")), token);
                assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
                awaitActive(token);
            }
            answered.add("round " + round);
            // Not a wait for a condition: spaces the rounds over the minute the test watches.
            Thread.sleep(500);
        }
        assertThat(answered).hasSizeGreaterThan(5);
    }

    private static void awaitActive(String token) {
        Poll.until(() -> {
            try {
                return json(send(HttpRequest.newBuilder(base.resolve("/api/v1/deployments/rolling")).GET(), token));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, d -> d.path("status").asText().equals("active"), CALL_LIMIT, "the rollout to finish");
    }

    private static HttpResponse<String> post(String path, String token, String body, int expected) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)), token);
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(expected);
        return r;
    }

    /** One call, failing the test (rather than hanging) when the server does not answer in time. */
    private static HttpResponse<String> send(HttpRequest.Builder request, String token) throws IOException,
            InterruptedException {
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            return client.send(request.timeout(CALL_LIMIT).build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.net.http.HttpTimeoutException e) {
            throw new AssertionError("the server did not answer within " + CALL_LIMIT.toSeconds() + " s: "
                    + request.build().uri(), e);
        }
    }

    private static String log() {
        try {
            String text = Files.readString(dataDir.resolve("server.log"));
            return text.substring(Math.max(0, text.length() - 4000));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
