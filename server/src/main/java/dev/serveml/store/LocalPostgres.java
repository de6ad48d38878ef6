package dev.serveml.store;

import io.zonky.test.db.postgres.util.LinuxUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The PostgreSQL that ServeML runs itself under {@code <data dir>/postgres}, owned for its whole
 * life: ServeML starts the postmaster as its own child (no {@code pg_ctl} daemon), stops it on
 * every way out of a start and on close, and at start stops a postmaster a killed ServeML left
 * running on this data directory (its lock is free but {@code postmaster.pid} names a live
 * postgres on this directory).
 *
 * <p>Every connection needs a password: a secret generated once into {@code postgres/password}
 * (mode 0600), SCRAM in {@code pg_hba.conf} for host and local connections, listening on
 * 127.0.0.1 only and on no Unix socket. A data directory made by an older ServeML (trust
 * authentication) gets the password set in single-user mode, before anything listens, and its
 * {@code pg_hba.conf} replaced.
 *
 * <p>Not thread-safe for start; {@link #close} may be called from any thread, more than once.
 */
final class LocalPostgres implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalPostgres.class);
    static final String USER = "postgres";
    /** First line of our pg_hba.conf: present only once the password has been set in this cluster. */
    private static final String HBA_MARKER = "# ServeML: a password (SCRAM) is required for every connection.";
    private static final String HBA = HBA_MARKER + """

            # Written by ServeML at every start; edits are replaced. The password is in ../password.
            local   all   all                  scram-sha-256
            host    all   all   127.0.0.1/32   scram-sha-256
            host    all   all   ::1/128        scram-sha-256
            """;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int PORT_ATTEMPTS = 3;
    private static final long MAX_LOG_BYTES = 16L << 20;

    private Process process;
    private final int port;
    private final String password;
    private final DataDirectoryLock lock;
    private final Path dir;
    private final Path binaries;
    private boolean closed;

    private LocalPostgres(Process process, int port, String password, DataDirectoryLock lock, Path dir,
                          Path binaries) {
        this.process = process;
        this.port = port;
        this.password = password;
        this.lock = lock;
        this.dir = dir;
        this.binaries = binaries;
    }

    /**
     * Locks the data directory, stops an orphaned postmaster, prepares the cluster and starts
     * the postmaster; returns once it accepts ServeML's password. Blocking (seconds).
     *
     * @param dir      the embedded directory ({@code <data dir>/postgres})
     * @param binaries where the programs are unpacked (see {@link PostgresBinaries#unpack})
     * @throws IllegalStateException when another ServeML uses the data directory, or PostgreSQL
     *         does not start (the message quotes its log)
     */
    static LocalPostgres start(Path dir, Path binDir) {
        Path dataDir = dir.getParent() == null ? dir : dir.getParent();
        createPrivateDirectory(dir);
        DataDirectoryLock lock = DataDirectoryLock.acquire(dir.resolve("serveml.lock"), dataDir);
        try (StartGuard guard = new StartGuard()) {
            Path data = dir.resolve("data");
            if (DataDirectoryLock.isHeld(data.resolve("epg-lock"))) {
                throw new IllegalStateException("an older ServeML is using this data directory (" + dataDir
                        + "); stop it first, or give this one its own SERVEML_DATA_DIR");
            }
            Path binaries = PostgresBinaries.unpack(binDir);
            Commands commands = new Commands(binaries, logFile(dir), guard);
            Secret secret = Secret.load(dir.resolve("password"));
            stopOrphan(data);
            prepare(commands, data, secret);
            for (int attempt = 1; ; attempt++) {
                int port = freePort();
                Process postmaster = commands.postmaster(data, port);
                if (awaitReady(commands, postmaster, port, secret.value())) {
                    guard.handOver();
                    return new LocalPostgres(postmaster, port, secret.value(), lock, dir, binaries);
                }
                if (attempt == PORT_ATTEMPTS) {
                    throw new IllegalStateException("the embedded PostgreSQL could not bind a port on 127.0.0.1 in "
                            + PORT_ATTEMPTS + " tries: " + commands.logSinceStart());
                }
            }
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    String password() {
        return password;
    }

    int port() {
        return port;
    }

    /** Whether the postmaster runs (false after it died, until {@link #restartIfDead}). */
    synchronized boolean alive() {
        return process.isAlive();
    }

    /**
     * Starts the postmaster again, on the same port and data, when it has died (killed, OOM) and
     * this server has not been closed; the JDBC pool reconnects by itself. Blocking (seconds).
     * A start that fails (its old backends still hold the shared memory, say) is logged and
     * tried again at the next call.
     *
     * @return whether a new postmaster now runs
     */
    synchronized boolean restartIfDead() {
        if (closed || process.isAlive()) {
            return false;
        }
        log.warn("the embedded PostgreSQL (pid {}) died (exit code {}); starting it again on port {}", process.pid(),
                process.exitValue(), port);
        try (StartGuard guard = new StartGuard()) {
            Path data = dir.resolve("data");
            stopOrphan(data);
            Commands commands = new Commands(binaries, logFile(dir), guard);
            Process postmaster = commands.postmaster(data, port);
            if (!awaitReady(commands, postmaster, port, password)) {
                log.warn("the embedded PostgreSQL cannot bind port {} again yet: {}", port, commands.logSinceStart());
                return false;
            }
            guard.handOver();
            process = postmaster;
            log.info("the embedded PostgreSQL runs again (pid {})", postmaster.pid());
            return true;
        } catch (RuntimeException e) {
            log.warn("the embedded PostgreSQL did not start again (next try in a moment): {}", e.getMessage());
            return false;
        }
    }

    /** Stops the postmaster (SIGTERM, then SIGKILL for it and its backends) and unlocks the data directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop(process.toHandle(), "the embedded PostgreSQL");
        } finally {
            lock.close();
        }
    }

    /** Creates the cluster, or makes an older one require the password; then writes pg_hba.conf. */
    private static void prepare(Commands commands, Path data, Secret secret) {
        try {
            Path hba = data.resolve("pg_hba.conf");
            if (!Files.exists(data.resolve("PG_VERSION"))) {
                // No cluster, or an initdb that was cut short (it writes PG_VERSION early): start over.
                PostgresBinaries.deleteTree(data);
                long started = System.nanoTime();
                log.info("creating the embedded PostgreSQL database cluster (first start on this data directory)");
                commands.initdb(data, secret.file());
                log.info("created the database cluster in {} ms", (System.nanoTime() - started) / 1_000_000);
            } else if (!Files.exists(hba) || !Files.readString(hba).startsWith(HBA_MARKER) || secret.created()) {
                log.info("setting the embedded PostgreSQL's password (a data directory from an older ServeML, "
                        + "or a new password file)");
                commands.setPassword(data, secret.value());
            }
            Path temp = data.resolve("pg_hba.conf.serveml");
            Files.writeString(temp, HBA);
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
            Files.move(temp, hba, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the embedded PostgreSQL in " + data, e);
        }
    }

    /**
     * Waits until the postmaster accepts the password.
     *
     * @return false when it exited because its port was taken (try another)
     */
    private static boolean awaitReady(Commands commands, Process postmaster, int port, String password) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            if (!postmaster.isAlive()) {
                String said = commands.logSinceStart();
                if (said.contains("could not bind") || said.contains("Address already in use")) {
                    return false;
                }
                throw commands.failed("the embedded PostgreSQL exited during start-up (exit code "
                        + postmaster.exitValue() + ")");
            }
            try (Connection c = connect(port, password)) {
                return true;
            } catch (SQLException e) {
                last = e;
                if ("28P01".equals(e.getSQLState()) || "28000".equals(e.getSQLState())) {
                    stop(postmaster.toHandle(), "the embedded PostgreSQL");
                    throw new IllegalStateException("the embedded PostgreSQL refused the password in its password"
                            + " file; if that file was changed, put the old one back, or delete it to have a new one"
                            + " set at the next start");
                }
            }
            sleep(100);
        }
        stop(postmaster.toHandle(), "the embedded PostgreSQL");
        throw commands.failed("the embedded PostgreSQL did not accept connections within "
                + START_TIMEOUT.toSeconds() + " s (last: " + (last == null ? "none" : last.getMessage()) + ")");
    }

    private static Connection connect(int port, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", USER);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "2");
        props.setProperty("socketTimeout", "5");
        props.setProperty("loginTimeout", "5");
        Connection c = new org.postgresql.Driver().connect("jdbc:postgresql://127.0.0.1:" + port + "/postgres", props);
        if (c == null) {
            throw new SQLException("the PostgreSQL driver did not accept the URL");
        }
        return c;
    }

    /**
     * A killed ServeML leaves its postmaster running (its parent is gone, it is not). Its
     * {@code postmaster.pid} says which process; stop it if it is a postgres on this very data
     * directory (the pid may have been reused by something else since).
     */
    private static void stopOrphan(Path data) {
        Path pidFile = data.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid;
        try {
            List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
            pid = lines.isEmpty() ? -1 : Long.parseLong(lines.get(0).trim());
        } catch (IOException | NumberFormatException e) {
            return; // unreadable: PostgreSQL judges it itself
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (process.isEmpty()) {
            return; // a stale file: PostgreSQL removes it itself
        }
        Optional<List<String>> command = commandLine(pid);
        if (command.isEmpty()) {
            return; // cannot tell: PostgreSQL refuses to start beside a live postmaster, with its own words
        }
        if (!isPostgresOn(command.get(), data)) {
            // The pid now belongs to something else; PostgreSQL would refuse to start because of it.
            try {
                Files.deleteIfExists(pidFile);
            } catch (IOException e) {
                log.warn("cannot remove the stale {}: {}", pidFile, e.getMessage());
            }
            return;
        }
        log.warn("a PostgreSQL (pid {}) is still running on {}, left by a ServeML that is gone; stopping it", pid, data);
        stop(process.get(), "the orphaned PostgreSQL (pid " + pid + ")");
        if (process.get().isAlive()) {
            throw new IllegalStateException("cannot stop the orphaned PostgreSQL (pid " + pid + ") running on "
                    + data + "; stop it (kill -9 " + pid + ") and start ServeML again");
        }
    }

    private static Optional<List<String>> commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return Optional.of(Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0")));
        } catch (IOException e) {
            return ProcessHandle.of(pid).flatMap(p -> p.info().command().map(cmd -> {
                List<String> all = new ArrayList<>();
                all.add(cmd);
                p.info().arguments().ifPresent(a -> all.addAll(Arrays.asList(a)));
                return all;
            }));
        }
    }

    /** Whether a command line is a postgres (postmaster or single-user) given {@code -D data}. */
    static boolean isPostgresOn(List<String> command, Path data) {
        if (command.isEmpty() || !Path.of(command.get(0)).getFileName().toString().equals("postgres")) {
            return false;
        }
        Path wanted = data.toAbsolutePath().normalize();
        for (int i = 1; i + 1 < command.size(); i++) {
            if (command.get(i).equals("-D")) {
                try {
                    return Path.of(command.get(i + 1)).toAbsolutePath().normalize().equals(wanted);
                } catch (RuntimeException e) {
                    return false;
                }
            }
        }
        return false;
    }

    /**
     * Stops a postmaster: SIGTERM (with no clients left, it shuts down at once), then, if it is
     * still there after the timeout, SIGKILL for it and for its backends, and waits for them, so
     * the next postmaster does not find their shared memory still attached.
     */
    static void stop(ProcessHandle postmaster, String what) {
        if (!postmaster.isAlive()) {
            return;
        }
        List<ProcessHandle> backends = postmaster.descendants().toList();
        postmaster.destroy();
        if (!awaitExit(postmaster, STOP_TIMEOUT)) {
            log.warn("{} did not stop within {} s of SIGTERM; killing it", what, STOP_TIMEOUT.toSeconds());
            backends = new ArrayList<>(backends);
            backends.addAll(postmaster.descendants().toList());
            postmaster.destroyForcibly();
            backends.forEach(ProcessHandle::destroyForcibly);
            awaitExit(postmaster, Duration.ofSeconds(5));
        }
        for (ProcessHandle backend : backends) {
            if (!awaitExit(backend, Duration.ofSeconds(5))) {
                backend.destroyForcibly();
                awaitExit(backend, Duration.ofSeconds(2));
            }
        }
    }

    private static boolean awaitExit(ProcessHandle process, Duration timeout) {
        try {
            process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return !process.isAlive();
        } catch (ExecutionException e) {
            return !process.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    private static void createPrivateDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the embedded PostgreSQL directory " + dir, e);
        }
    }

    /** PostgreSQL's own log, appended to; moved aside once it grows past 16 MB. */
    private static Path logFile(Path dir) {
        Path file = dir.resolve("postgresql.log");
        try {
            if (Files.exists(file) && Files.size(file) > MAX_LOG_BYTES) {
                Files.move(file, dir.resolve("postgresql.log.1"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            log.warn("cannot rotate {}: {}", file, e.getMessage());
        }
        return file;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on 127.0.0.1 for the embedded PostgreSQL", e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the embedded PostgreSQL", e);
        }
    }

    /** The password: generated once, kept in a file only this user can read. */
    private record Secret(Path file, String value, boolean created) {
        static Secret load(Path file) {
            try {
                if (Files.exists(file)) {
                    String value = Files.readString(file, StandardCharsets.US_ASCII).trim();
                    if (!value.isEmpty()) {
                        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
                        return new Secret(file, value, false);
                    }
                    Files.delete(file); // an empty file from a start killed while writing it
                }
                byte[] random = new byte[32];
                new SecureRandom().nextBytes(random);
                // URL-safe base64: no quote or backslash, so it can sit in SQL and in initdb's pwfile as is.
                String value = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
                try (OutputStream out = Files.newOutputStream(Files.createFile(file,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                        StandardOpenOption.WRITE)) {
                    out.write(value.getBytes(StandardCharsets.US_ASCII));
                }
                return new Secret(file, value, true);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read or create the embedded PostgreSQL password file " + file, e);
            }
        }
    }

    /**
     * Runs the PostgreSQL programs: as root, inside a new user namespace (PostgreSQL refuses to
     * run as root), with no {@code SERVEML_*} variable in their environment, output appended to
     * the log file (no pipe for anyone to read).
     */
    private static final class Commands {
        private final Path home;
        private final Path log;
        private final StartGuard guard;
        private long logStart;

        Commands(Path home, Path log, StartGuard guard) {
            this.home = home;
            this.log = log;
            this.guard = guard;
        }

        void initdb(Path data, Path passwordFile) {
            run(List.of("initdb", "-A", "scram-sha-256", "--pwfile=" + passwordFile, "-U", USER, "-D",
                    data.toString(), "-E", "UTF-8"), null, "initdb");
        }

        /** Single-user mode: no listener at all while the old cluster still trusts everyone. */
        void setPassword(Path data, String password) {
            run(List.of("postgres", "--single", "-D", data.toString(), "-c", "listen_addresses=",
                            "-c", "unix_socket_directories=", "-c", "log_min_error_statement=panic", USER),
                    "SET password_encryption = 'scram-sha-256';\nALTER ROLE " + USER + " WITH PASSWORD '" + password
                            + "';\n", "setting the password");
        }

        /** Commits are flushed before they are acknowledged (the default): a killed postmaster loses no registered row. */
        Process postmaster(Path data, int port) {
            return spawn(List.of("postgres", "-D", data.toString(), "-p", Integer.toString(port),
                    "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                    "-c", "password_encryption=scram-sha-256", "-c", "max_connections=100",
                    "-c", "timezone=UTC"), false);
        }

        private void run(List<String> command, String input, String what) {
            Process p = spawn(command, input != null);
            try {
                if (input != null) {
                    try (OutputStream in = p.getOutputStream()) {
                        in.write(input.getBytes(StandardCharsets.UTF_8));
                    }
                }
                if (!p.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    stop(p.toHandle(), what);
                    throw failed(what + " did not finish within " + START_TIMEOUT.toSeconds() + " s");
                }
                String said = logSinceStart();
                if (p.exitValue() != 0 || said.contains("FATAL") || said.contains("ERROR:")) {
                    throw failed(what + " failed (exit code " + p.exitValue() + ")");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(what + " of the embedded PostgreSQL failed", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new IllegalStateException("interrupted during " + what, e);
            }
        }

        private Process spawn(List<String> command, boolean withInput) {
            List<String> full = new ArrayList<>();
            if (LinuxUtils.isUnshareAvailable()) {
                full.addAll(List.of("unshare", "-U"));
            }
            full.add(home.resolve("bin").resolve(command.get(0)).toString());
            full.addAll(command.subList(1, command.size()));
            ProcessBuilder builder = new ProcessBuilder(full).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            builder.environment().keySet().removeIf(k -> k.startsWith("SERVEML_"));
            if (!withInput) {
                builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            }
            try {
                logStart = Files.exists(log) ? Files.size(log) : 0;
                return guard.spawn(builder);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot run " + full.get(full.size() - command.size()), e);
            }
        }

        /** What PostgreSQL wrote to its log since the last program was started (at most the last 4 KB). */
        String logSinceStart() {
            try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
                long from = Math.max(logStart, file.length() - 4096);
                byte[] tail = new byte[(int) Math.max(0, file.length() - from)];
                file.seek(from);
                file.readFully(tail);
                return new String(tail, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                return "(its log could not be read: " + e.getMessage() + ")";
            }
        }

        IllegalStateException failed(String what) {
            String said = logSinceStart();
            String disk = said.contains("No space left on device")
                    ? " The disk holding the data directory is full: free some space." : "";
            return new IllegalStateException(what + "." + disk + " PostgreSQL said: " + said.replace('\n', ' ')
                    + " (full log: " + log + ")");
        }
    }

    /**
     * Stops what a start spawned if the JVM exits during the start (Ctrl-C while PostgreSQL comes
     * up), and refuses to spawn after that; once started, the postmaster is handed to the caller.
     */
    private static final class StartGuard implements AutoCloseable {
        private final Thread hook = new Thread(this::onExit, "serveml-postgres-start-abort");
        private final List<Process> spawned = new ArrayList<>();
        private boolean exiting;
        private boolean handedOver;

        StartGuard() {
            Runtime.getRuntime().addShutdownHook(hook);
        }

        synchronized Process spawn(ProcessBuilder builder) throws IOException {
            if (exiting) {
                throw new IllegalStateException("ServeML is exiting");
            }
            Process p = builder.start();
            spawned.add(p);
            return p;
        }

        synchronized void handOver() {
            handedOver = true;
        }

        private synchronized void onExit() {
            exiting = true;
            spawned.forEach(p -> stop(p.toHandle(), "the embedded PostgreSQL"));
        }

        /** Stops every program still running unless the postmaster was handed over; removes the hook. */
        @Override
        public synchronized void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is exiting: the hook stops them
            }
            for (Process p : spawned) {
                if (!handedOver || p != spawned.get(spawned.size() - 1)) {
                    stop(p.toHandle(), "the embedded PostgreSQL");
                }
            }
        }
    }
}
