package dev.serveml.e2e;

import dev.serveml.config.ConfigLoader;
import dev.serveml.server.ServemlServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * ServeML owns its PostgreSQL's life. A ServeML killed with SIGKILL (an OOM kill, kill -9)
 * leaves its postmaster behind; the next start stops that orphan and comes back with the data
 * intact instead of failing after a minute. A second ServeML on the same data directory is told
 * plainly that another one (with its pid) uses it, and a start that fails leaves no PostgreSQL.
 * The ServeMLs here are real processes (java ... dev.serveml.server.Main), as an operator runs them.
 */
class PostgresLifecycleIT {
    private static final Pattern LISTENING = Pattern.compile("ServeML listening on http://127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path work;

    private final List<Process> children = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stopEverything() throws Exception {
        for (Process p : children) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        // A safety net only: the tests below assert that nothing is left. The running one's PostgreSQL
        // (killed with its JVM, so orphaned) must be gone before JUnit deletes the directory it writes in.
        Optional<ProcessHandle> postmaster = postmaster(work.resolve("data"));
        if (postmaster.isPresent()) {
            List<ProcessHandle> all = new ArrayList<>(postmaster.get().descendants().toList());
            all.add(postmaster.get());
            all.forEach(ProcessHandle::destroyForcibly);
            for (ProcessHandle p : all) {
                p.onExit().get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aServemlKilledWithSigkillIsReadyAgainQuicklyWithItsModelIntact() throws Exception {
        Path dataDir = work.resolve("data");
        Child first = startChild(dataDir, "first");
        String token = login(first.port());
        assertThat(upload(first.port(), token, "survivor").statusCode()).isEqualTo(201);
        ProcessHandle orphan = postmaster(dataDir).orElseThrow();

        first.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
        first.process().waitFor(30, TimeUnit.SECONDS);
        assertThat(orphan.isAlive()).as("the killed ServeML's PostgreSQL is orphaned").isTrue();

        long restarted = System.nanoTime();
        Child second = startChild(dataDir, "second");
        long readyMillis = (System.nanoTime() - restarted) / 1_000_000;
        System.out.println("ServeML was ready again " + readyMillis + " ms after it was killed (JVM start included)");

        assertThat(orphan.isAlive()).as("the orphan was stopped").isFalse();
        // Stopped by the new ServeML as soon as it saw it, rather than waited for (the fault waited 61 s, then failed).
        assertThat(read(work.resolve("second.log"))).contains("a PostgreSQL (pid " + orphan.pid()
                + ") is still running on", "left by a ServeML that is gone; stopping it");
        String again = login(second.port());
        HttpResponse<String> model = get(second.port(), again, "/api/v1/models/survivor");
        assertThat(model.statusCode()).as(model.body()).isEqualTo(200);
        HttpResponse<String> predicted = send(second.port(), again, HttpRequest.newBuilder()
                .uri(uri(second.port(), "/api/v1/models/survivor/predict"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"features\": [6.7, 3.0, 5.2, 2.3]}")));
        assertThat(predicted.statusCode()).as(predicted.body()).isEqualTo(200);
        assertThat(json(predicted).get("predictions").get(0).get("label").asLong()).isEqualTo(2);

        ProcessHandle current = postmaster(dataDir).orElseThrow();
        second.process().destroy(); // SIGTERM: the normal way to stop
        assertThat(second.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(current.onExit().get(30, TimeUnit.SECONDS).isAlive()).as("stopped with ServeML").isFalse();
    }

    @Test
    void aSecondServemlOnTheSameDataDirectoryIsToldAnotherOneUsesIt() throws Exception {
        Path dataDir = work.resolve("data");
        Child running = startChild(dataDir, "running");
        ProcessHandle itsPostgres = postmaster(dataDir).orElseThrow();

        IllegalStateException refused = catchThrowableOfType(IllegalStateException.class,
                () -> ServemlServer.start(ConfigLoader.load(env(dataDir, "0"))));

        assertThat(refused).isNotNull();
        assertThat(refused.getMessage()).startsWith("another ServeML (pid " + running.process().pid()
                + ") is using this data directory");
        assertThat(itsPostgres.isAlive()).as("the running one's PostgreSQL is left alone").isTrue();
        String token = login(running.port());
        assertThat(get(running.port(), token, "/api/v1/models").statusCode()).isEqualTo(200);
    }

    @Test
    void aStartThatFailsLeavesNoPostgresRunningAndTheNextStartWorks() throws Exception {
        Path dataDir = work.resolve("data");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            RuntimeException failed = catchThrowableOfType(RuntimeException.class,
                    () -> ServemlServer.start(ConfigLoader.load(env(dataDir, Integer.toString(taken.getLocalPort())))));
            assertThat(failed).as("the HTTP port is taken").isNotNull();
        }

        assertThat(postmaster(dataDir)).as("no PostgreSQL after the failed start").isEmpty();
        try (TestServer server = TestServer.start(dataDir)) {
            assertThat(server.get("/api/v1/models").statusCode()).isEqualTo(200);
        }
    }

    private record Child(Process process, int port) {
    }

    /** Starts ServeML in its own JVM and waits until it says where it listens. */
    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Child startChild(Path dataDir, String name) throws Exception {
        Path log = work.resolve(name + ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "dev.serveml.server.Main")
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("SERVEML_"));
        builder.environment().putAll(env(dataDir, "0"));
        Process p = builder.start();
        children.add(p);
        try {
            Integer port = Poll.until(() -> {
                String out = read(log);
                Matcher m = LISTENING.matcher(out);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
                if (!p.isAlive()) {
                    throw new AssertionError("ServeML exited with " + p.exitValue() + ":\n" + out);
                }
                return null;
            }, listening -> true, Duration.ofSeconds(90), "ServeML to listen");
            return new Child(p, port);
        } catch (AssertionError e) {
            throw e.getMessage().startsWith("ServeML exited") ? e
                    : new AssertionError("ServeML did not start within 90 s:\n" + Files.readString(log), e);
        }
    }

    private static Map<String, String> env(Path dataDir, String port) {
        Map<String, String> env = new HashMap<>();
        env.put("SERVEML_DATA_DIR", dataDir.toString());
        env.put("SERVEML_HTTP_PORT", port);
        env.put("SERVEML_HTTP_HOST", "127.0.0.1");
        env.put("SERVEML_ADMIN_PASSWORD", TestServer.ADMIN_PASSWORD);
        env.put("SERVEML_BCRYPT_COST", "4");
        return env;
    }

    /** The live postmaster named by the data directory's postmaster.pid, if any. */
    private static Optional<ProcessHandle> postmaster(Path dataDir) {
        Path pidFile = dataDir.resolve("postgres/data/postmaster.pid");
        try {
            long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private String login(int port) {
        HttpResponse<String> r = send(port, null, HttpRequest.newBuilder(uri(port, "/api/v1/auth/login"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"username\": \"admin\", \"password\": \""
                        + TestServer.ADMIN_PASSWORD + "\"}")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("access_token").asText();
    }

    private HttpResponse<String> upload(int port, String token, String model) {
        String boundary = "serveml-" + UUID.randomUUID();
        return send(port, token, HttpRequest.newBuilder(uri(port, "/api/v1/models/" + model + "/versions"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(
                        TestServer.multipart(boundary, "file", "iris.onnx", fixture("iris_rf.onnx")))));
    }

    private HttpResponse<String> get(int port, String token, String path) {
        return send(port, token, HttpRequest.newBuilder(uri(port, path)).GET());
    }

    private HttpResponse<String> send(int port, String token, HttpRequest.Builder request) {
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            return http.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
