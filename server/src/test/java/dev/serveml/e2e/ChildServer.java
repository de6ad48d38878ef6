package dev.serveml.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * ServeML as users run it: {@code dev.serveml.server.Main} in a JVM of its own (this test's class
 * path), configured through its environment, its output in a log file, its port read from
 * {@code SERVEML_PORT_FILE}. For what only a real process shows: signals, exit codes, children.
 */
final class ChildServer implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final int port;

    private ChildServer(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** Starts and waits until it listens (the port file appears); fails with the log if it exits first. */
    static ChildServer start(Path dataDir, Map<String, String> env) throws IOException, InterruptedException {
        Path portFile = dataDir.resolve("serveml.port");
        Path log = dataDir.resolve("serveml.log");
        // A server killed with SIGKILL leaves its port file: this start must not read that one.
        Files.deleteIfExists(portFile);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "dev.serveml.server.Main"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("SERVEML_"));
        builder.environment().putAll(Map.of(
                "SERVEML_DATA_DIR", dataDir.resolve("data").toString(),
                "SERVEML_HTTP_HOST", "127.0.0.1",
                "SERVEML_HTTP_PORT", "0",
                "SERVEML_PORT_FILE", portFile.toString(),
                "SERVEML_BCRYPT_COST", "4",
                "SERVEML_DATABASE_EMBEDDED_BINARIES", TestServer.SHARED_POSTGRES_BINARIES,
                "SERVEML_ADMIN_PASSWORD", TestServer.ADMIN_PASSWORD));
        builder.environment().putAll(env);
        Process process = builder.start();
        try {
            Poll.until(() -> {
                if (!process.isAlive()) {
                    throw new AssertionError("ServeML exited with " + process.exitValue());
                }
                return Files.exists(portFile);
            }, Duration.ofSeconds(120), "ServeML to write its port file");
        } catch (AssertionError e) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError("ServeML did not start (" + e.getMessage() + "):\n" + Files.readString(log), e);
        }
        return new ChildServer(process, log, Integer.parseInt(Files.readString(portFile).trim()));
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    int port() {
        return port;
    }

    Process process() {
        return process;
    }

    String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM (what {@link Process#destroy} does on Linux), as a service manager would. */
    void terminate() {
        process.destroy();
    }

    /** The exit status, or -1 when it has not exited within {@code limit}. */
    int awaitExit(Duration limit) throws InterruptedException {
        return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }

    /** Processes other than this JVM whose command line names {@code text} (PostgreSQL, workers). */
    static List<String> processesNaming(String text) {
        long self = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses().filter(p -> p.pid() != self)
                .map(p -> p.info().commandLine().orElse(""))
                .filter(line -> line.contains(text)).toList();
    }

    /** Stops it gently if a test left it running (SIGKILL would leave its PostgreSQL behind). */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }
}
