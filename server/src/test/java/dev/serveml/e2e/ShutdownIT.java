package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM to a real ServeML process under load: what was taken before the signal is answered,
 * nothing new is taken, and the process exits 0 with its PostgreSQL and workers stopped.
 */
class ShutdownIT {
    private static final int SLOW_CALLS = 8;
    private static final int WORKERS = 2;

    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void sigtermUnderLoadAnswersEveryRequestAlreadyTakenRefusesNewOnesAndExitsZero() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        try (ChildServer child = ChildServer.start(dir, Map.of("SERVEML_AUTH", "off",
                "SERVEML_SHUTDOWN_TIMEOUT", "60s"))) {
            // A model whose every call takes 1.5 s on each of two workers: calls queue behind each other.
            HttpResponse<String> uploaded = upload(child, "sleeper", "handler_model.zip", fixture("python/handler_model.zip"));
            assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
            HttpResponse<String> deployed = post(child, "/api/v1/deployments", "{\"name\": \"sleeper\", \"model\": "
                    + "\"sleeper\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": "
                    + "{\"instances\": " + WORKERS + ", \"env\": {\"HANDLER_SLEEP_MS\": \"1500\"}}}");
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
            awaitActive(child, "sleeper");

            List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
            for (int i = 0; i < SLOW_CALLS; i++) {
                slow.add(client.sendAsync(predictRequest(child, i), HttpResponse.BodyHandlers.ofString()));
            }
            // One more call with a readiness check pipelined behind it on the same connection.
            Socket pipelined = new Socket();
            pipelined.connect(new InetSocketAddress("127.0.0.1", child.port()), 5_000);
            pipelined.setSoTimeout(120_000);
            String body = "{\"instances\": [[100, 0]]}";
            pipelined.getOutputStream().write(("POST /api/v1/deployments/sleeper/predict HTTP/1.1\r\nHost: serveml\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body
                    + "GET /health/ready HTTP/1.1\r\nHost: serveml\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            pipelined.getOutputStream().flush();
            // Every call has been taken once all but the running ones wait in the queue.
            awaitQueueDepth(child, SLOW_CALLS + 1 - WORKERS);

            child.terminate();
            List<String> probes = new CopyOnWriteArrayList<>();
            Thread prober = Thread.ofPlatform().start(() -> probeUntilExit(child, probes));

            for (int i = 0; i < SLOW_CALLS; i++) {
                HttpResponse<String> r = slow.get(i).get();
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(json(r).get("predictions").get(0).get("doubled").get(0).asDouble()).isEqualTo(2.0 * i + 0.5);
            }
            List<String> refusedWhileDraining = List.copyOf(probes);
            String answers = readToEnd(pipelined.getInputStream());
            pipelined.close();
            assertThat(answers).startsWith("HTTP/1.1 200").contains("\"doubled\":[200.5");
            assertThat(answers.substring(answers.indexOf("HTTP/1.1 503"))).as(answers)
                    .contains("connection: close").contains("\"server\":\"stopping\"");

            assertThat(child.awaitExit(Duration.ofSeconds(90))).as(child.log()).isZero();
            prober.join(Duration.ofSeconds(30));
            assertThat(refusedWhileDraining).as("the listener stopped taking connections while calls still ran")
                    .contains("refused");
            assertThat(probes).as("a new connection is refused or answered, never taken and dropped")
                    .allMatch(p -> p.equals("refused") || p.equals("answered"));
            assertThat(child.log()).doesNotContain("IllegalStateException").doesNotContain(" ERROR ")
                    .contains("ServeML stopped");
            assertThat(ChildServer.processesNaming(dir.toString())).as("PostgreSQL and the workers stopped").isEmpty();
        }
    }

    @Test
    void aStopEndsOpenEventStreamsAtOnceInsteadOfWaitingOutTheTimeout() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        TestServer server = TestServer.start(dir, Map.of("SERVEML_SHUTDOWN_TIMEOUT", "120s"));
        try {
            uploadHandler(server, "warming");
            // A 60 s warm-up keeps the deployment loading, so its event stream stays open.
            HttpResponse<String> deployed = server.postJson("/api/v1/deployments", "{\"name\": \"warming\", \"model\": "
                    + "\"warming\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": "
                    + "{\"env\": {\"HANDLER_SLEEP_MS\": \"60000\"}, \"warmup\": {\"instances\": [[1, 2]]}}}");
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
            HttpResponse<java.io.InputStream> stream = client.send(HttpRequest.newBuilder(server.uri(
                    "/api/v1/deployments/warming/events")).header("Authorization", "Bearer " + server.adminKey()).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(stream.statusCode()).isEqualTo(200);
            stream.body().read(); // the stream has begun
            CompletableFuture<String> rest = CompletableFuture.supplyAsync(() -> {
                try (InputStream in = stream.body()) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "cut: " + e;
                }
            });

            long started = System.nanoTime();
            server.close();
            long seconds = (System.nanoTime() - started) / 1_000_000_000;

            assertThat(seconds).as("the stop did not wait for the 120 s timeout (nor the 60 s warm-up)").isLessThan(45);
            assertThat(rest.get()).as("ended as a stream ends, not cut off").doesNotStartWith("cut: ");
        } finally {
            server.close();
        }
    }

    @Test
    void aRequestThatOutlastsTheShutdownTimeoutIsCutThereAndTheStopGoesOn() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        TestServer server = TestServer.start(dir, Map.of("SERVEML_SHUTDOWN_TIMEOUT", "1s"));
        try {
            uploadHandler(server, "stuck");
            HttpResponse<String> deployed = server.postJson("/api/v1/deployments", "{\"name\": \"stuck\", \"model\": "
                    + "\"stuck\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": "
                    + "{\"timeout\": \"120s\", \"env\": {\"HANDLER_SLEEP_MS\": \"8000\"}}}");
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
            awaitActive(server, "stuck"); // loading calls the model once too
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                calls.add(client.sendAsync(HttpRequest.newBuilder(server.uri("/api/v1/deployments/stuck/predict"))
                        .header("Authorization", "Bearer " + server.adminKey()).header("Content-Type", "application/json")
                        .header("X-Request-Timeout", "120000")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"instances\": [[1, 2]]}")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            // One call is with the model (8 s) once the other waits behind it: without a timeout the
            // stop would wait 16 s for them.
            awaitQueueDepth(() -> server.get("/metrics").body(), "stuck", 1);

            long started = System.nanoTime();
            server.close();
            long seconds = (System.nanoTime() - started) / 1_000_000_000;

            assertThat(seconds).as("stopped after the 1 s timeout, not the calls' 16 s").isLessThan(12);
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                assertThat(call).failsWithin(Duration.ofSeconds(30));
            }
        } finally {
            server.close();
        }
    }

    private static void awaitActive(TestServer server, String name) {
        Poll.until(() -> json(server.get("/api/v1/deployments/" + name)),
                d -> d.path("status").asText().equals("active"), Duration.ofSeconds(120), name + " to be active");
    }

    private static void uploadHandler(TestServer server, String model) {
        HttpResponse<String> r = server.upload(model, "handler_model.zip", fixture("python/handler_model.zip"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    /** Opens a fresh connection every 100 ms and sorts what happens, until the process has gone. */
    private static void probeUntilExit(ChildServer child, List<String> outcomes) {
        while (child.process().isAlive()) {
            outcomes.add(probe(child.port()));
            try {
                // Not a wait for a condition: the pause spaces the samples over the shutdown.
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static String probe(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: serveml\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = readToEnd(s.getInputStream());
            return answer.startsWith("HTTP/1.1 ") ? "answered" : "taken and dropped: '" + answer + "'";
        } catch (ConnectException e) {
            return "refused";
        } catch (IOException e) {
            return "taken and dropped: " + e;
        }
    }

    private static String readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8).toLowerCase(java.util.Locale.ROOT).replace("http/1.1", "HTTP/1.1");
    }

    private HttpRequest predictRequest(ChildServer child, int i) {
        return HttpRequest.newBuilder(child.uri("/api/v1/deployments/sleeper/predict"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString("{\"instances\": [[" + i + ", 0]]}")).build();
    }

    private void awaitQueueDepth(ChildServer child, int depth) throws Exception {
        awaitQueueDepth(() -> {
            try {
                return client.send(HttpRequest.newBuilder(child.uri("/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, "sleeper", depth);
    }

    /** Waits until {@code depth} calls to {@code model} v1 wait in its queue (so all were taken). */
    private static void awaitQueueDepth(java.util.function.Supplier<String> metrics, String model, int depth) {
        Pattern gauge = Pattern.compile("serveml_queue_depth\\{model=\"" + model + "\",version=\"1\"} ([0-9.]+)");
        Poll.until(metrics, text -> {
            Matcher m = gauge.matcher(text);
            return m.find() && Double.parseDouble(m.group(1)) >= depth;
        }, Duration.ofSeconds(60), "all " + depth + " calls to reach the server's queue");
    }

    private void awaitActive(ChildServer child, String name) {
        try {
            Poll.until(() -> {
                try {
                    return json(client.send(HttpRequest.newBuilder(child.uri("/api/v1/deployments/" + name)).build(),
                            HttpResponse.BodyHandlers.ofString()));
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, d -> d.path("status").asText().equals("active"), Duration.ofSeconds(120), name + " to be active");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + child.log(), e);
        }
    }

    private HttpResponse<String> post(ChildServer child, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(child.uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> upload(ChildServer child, String model, String fileName, byte[] bytes) throws Exception {
        String boundary = "serveml-" + UUID.randomUUID();
        return client.send(HttpRequest.newBuilder(child.uri("/api/v1/models/" + model + "/versions"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", fileName, bytes)))
                .build(), HttpResponse.BodyHandlers.ofString());
    }
}
