package dev.serveml.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL server of its own, started from Debian's {@code postgresql-15} on a loopback port:
 * the external database that ServeML replicas share ({@code SERVEML_DATABASE_URL}). As root (CI) its
 * programs run as the {@code postgres} user, since PostgreSQL refuses root. Stopped by {@link #close}.
 */
final class ExternalPostgres implements AutoCloseable {
    static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
    static final String USER = "serveml";
    static final String PASSWORD = "replica-test-password";

    private final Path dir;
    private final int port;
    private final Process server;

    private ExternalPostgres(Path dir, int port, Process server) {
        this.dir = dir;
        this.port = port;
        this.server = server;
    }

    static boolean available() {
        return Files.isExecutable(BIN.resolve("postgres")) && Files.isExecutable(BIN.resolve("initdb"));
    }

    static ExternalPostgres start() throws IOException, InterruptedException {
        SystemRequirements.require(available(), "PostgreSQL 15 (apt-get install postgresql-15) for the external mode");
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "serveml-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path data = dir.resolve("data");
        Path pw = dir.resolve("pw");
        Files.writeString(pw, PASSWORD + "\n");
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
            Files.setOwner(dir, users.lookupPrincipalByName("postgres"));
            Files.setOwner(pw, users.lookupPrincipalByName("postgres"));
        }
        run(root, List.of(BIN.resolve("initdb").toString(), "-A", "scram-sha-256", "--pwfile=" + pw, "-U", USER,
                "-D", data.toString(), "-E", "UTF-8"), dir.resolve("initdb.log"));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process server = new ProcessBuilder(command(root, List.of(BIN.resolve("postgres").toString(), "-D",
                data.toString(), "-p", Integer.toString(port), "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=", "-c", "max_connections=200")))
                .redirectErrorStream(true).redirectOutput(dir.resolve("postgres.log").toFile()).start();
        ExternalPostgres pg = new ExternalPostgres(dir, port, server);
        Poll.until(() -> {
            if (!server.isAlive()) {
                throw new AssertionError("PostgreSQL exited: " + read(dir.resolve("postgres.log")));
            }
            return read(dir.resolve("postgres.log")).contains("ready to accept connections");
        }, Duration.ofSeconds(60), "PostgreSQL to accept connections");
        return pg;
    }

    private static List<String> command(boolean root, List<String> command) {
        List<String> full = new ArrayList<>();
        if (root) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        return full;
    }

    private static void run(boolean root, List<String> command, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command(root, command)).redirectErrorStream(true).redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(command.get(0) + " failed: " + read(log));
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The URL ServeML's {@code SERVEML_DATABASE_URL} takes (the database {@code postgres}). */
    String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    @Override
    public void close() throws Exception {
        server.destroy();
        if (!server.waitFor(30, TimeUnit.SECONDS)) {
            server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
