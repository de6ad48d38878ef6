package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The embedded PostgreSQL hung (SIGSTOP), then killed (SIGKILL), under load, with authentication on: loaded models
 * keep answering known callers, writes are refused fast with a retryable 503, readiness says what
 * is down at once, and ServeML starts its PostgreSQL again by itself.
 */
class DatabaseOutageIT {
    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        // Credentials are re-read from the database on every call (1 ms), so serving them during the
        // outage can only come from the grace.
        server = TestServer.start(dataDir, Map.of("SERVEML_AUTH_CACHE_TTL", "1ms",
                "SERVEML_AUTH_OUTAGE_GRACE", "2m", "SERVEML_DATABASE_CONNECT_TIMEOUT", "1s",
                "SERVEML_DATABASE_SOCKET_TIMEOUT", "2s"));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static long postmasterPid() throws IOException {
        return Long.parseLong(Files.readAllLines(dataDir.resolve("postgres/data/postmaster.pid")).get(0).strip());
    }

    static void signal(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
    }

    HttpResponse<String> predict(String credential) {
        return server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/outage-iris/predict"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + credential)
                .POST(HttpRequest.BodyPublishers.ofString("{\"features\": [5.1, 3.5, 1.4, 0.2]}")).build());
    }

    @Test
    void killingThePostmasterUnderLoadStopsWritesFastButNotPredictionsForKnownCallers() throws Exception {
        assertThat(server.upload("outage-iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        String userToken = server.newUser("outage-user");
        String userKey = server.createKey(userToken, "svc", "[\"predict\", \"models:read\"]");
        String revoked = server.createKey(userToken, "old", "[\"predict\"]");
        server.patchJson("/api/v1/models/outage-iris", "{\"public\": true}");
        assertThat(predict(userKey).statusCode()).isEqualTo(200);
        assertThat(predict(userToken).statusCode()).isEqualTo(200);
        assertThat(predict(revoked).statusCode()).isEqualTo(200);
        revoke(userToken, "old");
        assertThat(predict(revoked).statusCode()).isEqualTo(401);

        // Load from two callers while the database dies under it.
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger answered = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        Thread load = Thread.ofPlatform().start(() -> {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (running.get() && System.nanoTime() < deadline) {
                for (String credential : new String[] {userKey, userToken, server.adminKey()}) {
                    HttpResponse<String> r = predict(credential);
                    if (r.statusCode() == 200) {
                        answered.incrementAndGet();
                    } else {
                        failures.add(r.statusCode() + " " + r.body());
                    }
                }
            }
        });
        Poll.until(() -> answered.get() > 30, Duration.ofSeconds(20), "load before the outage");
        // First the database hangs: every PostgreSQL process stopped (SIGSTOP), so connections go unanswered.
        long pid = postmasterPid();
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        List<ProcessHandle> postgres = new java.util.ArrayList<>(postmaster.descendants().toList());
        postgres.add(postmaster);
        for (ProcessHandle p : postgres) {
            signal("STOP", p.pid());
        }
        int before = answered.get();

        // Readiness answers at once and says what is down.
        Poll.until(() -> {
            long started = System.nanoTime();
            HttpResponse<String> r = server.get("/health/ready");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
            return json(r).get("checks").get("database").asText().equals("DOWN");
        }, Duration.ofSeconds(10), "readiness to see the database down");
        JsonNode ready = json(server.get("/health/ready"));
        assertThat(ready.get("status").asText()).isEqualTo("DEGRADED");

        // Writes: a fast, retryable 503 that names the cause; nothing half-done.
        long started = System.nanoTime();
        HttpResponse<String> upload = server.upload("during-outage", "iris_rf.onnx", fixture("iris_rf.onnx"));
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertProblem(upload, 503, "database-unavailable", "database cannot be reached");
        assertThat(upload.headers().firstValue("Retry-After")).isPresent();
        assertProblem(server.postJson("/api/v1/auth/login", "{\"username\": \"outage-user\", \"password\": "
                + "\"password-of-outage-user\"}"), 503, "database-unavailable", "retry shortly");
        // A key this server revoked stays refused.
        assertThat(predict(revoked).statusCode()).isNotEqualTo(200);

        Poll.until(() -> answered.get() > before + 300, Duration.ofSeconds(30),
                "predictions during the outage");

        // Then it dies (SIGKILL, as the OOM killer would).
        for (ProcessHandle p : postgres) {
            p.destroyForcibly();
        }
        Poll.until(() -> !postmaster.isAlive(), Duration.ofSeconds(10), "the postmaster to die");

        // ServeML starts its PostgreSQL again by itself, and everything works again with no restart of ServeML.
        Poll.until(() -> json(server.get("/health/ready")).get("status").asText().equals("UP"),
                Duration.ofSeconds(60), "the embedded PostgreSQL to be running again");
        assertThat(postmasterPid()).isNotEqualTo(pid);
        assertThat(server.upload("after-outage", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(server.login("outage-user", "password-of-outage-user")).isNotBlank();
        assertThat(predict(revoked).statusCode()).isEqualTo(401);
        int after = answered.get();
        Poll.until(() -> answered.get() > after + 30, Duration.ofSeconds(30), "predictions after it");
        running.set(false);
        load.join();
        assertThat(failures).isEmpty();
        assertThat(json(server.get("/api/v1/models/outage-iris")).get("name").asText()).isEqualTo("outage-iris");
    }

    private static void revoke(String token, String name) {
        server.useCredential(token);
        JsonNode keys = json(server.get("/api/v1/api-keys")).get("items");
        for (JsonNode k : keys) {
            if (k.get("name").asText().equals(name)) {
                assertThat(server.delete("/api/v1/api-keys/" + k.get("id").asText()).statusCode()).isEqualTo(200);
            }
        }
        server.useCredential(server.adminKey());
    }
}
