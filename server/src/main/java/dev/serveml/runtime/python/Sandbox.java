package dev.serveml.runtime.python;

import dev.serveml.config.PythonConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Runs Python (workers, and the venv and pip steps that build their environments) in bubblewrap.
 * Inside, the process sees only what {@link #command} binds: the system's {@code /usr} (the
 * interpreter and its libraries) and a handful of files from {@code /etc}, read-only; the binds
 * of the jail it is given (a model directory, the worker package, a virtualenv: read-only unless
 * said otherwise) at fixed paths under {@code /serveml}; a private {@code /tmp}. Never {@code /},
 * never the data directory. It runs as uid/gid 65534 in its own user namespace with every
 * capability dropped and no further user namespaces, in its own mount, PID, IPC, UTS, cgroup and
 * network namespaces (no network unless the jail asks for it), with a cleared environment set
 * from the jail with {@code --setenv} (bubblewrap itself runs with an empty one), a seccomp
 * filter ({@link SeccompFilter}), its own session, and it dies with ServeML. The same holds when
 * ServeML runs as root: the sandbox's root is a mapped user without capabilities, and every bind
 * but the writable ones named by the jail is read-only.
 *
 * <p>Bubblewrap's options travel in a file read through {@code --args} (so the deployment's
 * environment values never appear in a host process's command line) and the seccomp program on
 * another descriptor; both are opened by a tiny {@code /bin/sh} that then becomes bwrap (through
 * {@code env -i}: the shell would export its {@code PWD}), since a {@link ProcessBuilder} cannot
 * pass extra descriptors. When the sandbox is off the command runs
 * as it is, with the jail's environment and its host paths.
 */
final class Sandbox {
    private static final Logger log = LoggerFactory.getLogger(Sandbox.class);
    private static final List<Path> BWRAP = List.of(Path.of("/usr/bin/bwrap"), Path.of("/bin/bwrap"));
    private static final String SH = "/bin/sh";
    /** The uid and gid inside: nobody. */
    private static final String NOBODY = "65534";
    /** Top-level names that are (on merged-/usr systems) links into /usr, or else bound read-only. */
    private static final List<String> SYSTEM_LINKS = List.of("bin", "sbin", "lib", "lib64", "lib32", "libx32");
    /** What the dynamic loader, OpenBLAS (Debian's alternatives) and time zones need from /etc. */
    private static final List<String> ETC = List.of("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives",
            "localtime", "timezone");
    /** What name resolution and TLS need, only when the jail has network (pip with an index). */
    private static final List<String> ETC_NETWORK = List.of("resolv.conf", "hosts", "host.conf", "nsswitch.conf",
            "gai.conf", "ssl", "ca-certificates", "ca-certificates.conf");
    private static final long SHM_BYTES = 64L << 20;

    /** A host path made visible inside at {@code target}. */
    record Bind(Path source, String target, boolean writable) {
        static Bind readOnly(Path source, String target) {
            return new Bind(source, target, false);
        }
    }

    /**
     * One sandboxed run.
     *
     * @param command     the command, with paths as they are inside (see {@link #path})
     * @param environment the whole environment of the command
     * @param binds       what it sees beyond the system's files
     * @param network     whether it keeps the host's network (pip with an index); otherwise loopback only
     * @param tmp         a host directory for its {@code /tmp} (pip's downloads), or empty for a tmpfs
     * @param tmpBytes    the size of that tmpfs
     */
    record Jail(List<String> command, Map<String, String> environment, List<Bind> binds, boolean network,
                Optional<Path> tmp, long tmpBytes) {
        Jail {
            command = List.copyOf(command);
            environment = Map.copyOf(environment);
            binds = List.copyOf(binds);
        }
    }

    private final PythonConfig config;
    private final Optional<Path> bwrap;
    /**
     * The one thread that starts sandboxed processes. bubblewrap's {@code --die-with-parent} is
     * PR_SET_PDEATHSIG, which fires when the <em>thread</em> that started the process ends, not the
     * JVM: started from a short-lived thread (a worker restart, a rollout), a worker would be
     * killed a moment later. This thread lives as long as the runtime.
     */
    private final java.util.concurrent.ExecutorService spawner = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "serveml-process-spawner");
                t.setDaemon(true);
                return t;
            });
    private final Path home;
    private final Optional<Path> seccomp;
    private final List<String> systemArgs;

    /**
     * @param home a directory of ServeML's own (never bound) for the seccomp program and the
     *             sandbox's {@code /etc/passwd}
     */
    Sandbox(PythonConfig config, Path home) {
        this.config = config;
        this.bwrap = BWRAP.stream().filter(Files::isExecutable).findFirst();
        this.home = home;
        if (!config.sandboxed() || bwrap.isEmpty()) {
            this.seccomp = Optional.empty();
            this.systemArgs = List.of();
            return;
        }
        try {
            Files.createDirectories(home);
            Optional<byte[]> program = SeccompFilter.forThisMachine();
            if (program.isPresent()) {
                seccomp = Optional.of(Files.write(home.resolve("seccomp.bpf"), program.get()));
            } else {
                seccomp = Optional.empty();
                log.warn("no seccomp filter for {}: Python workers run sandboxed without one",
                        System.getProperty("os.arch"));
            }
            // Libraries that ask who they run as get an answer that says nothing about the host.
            Files.writeString(home.resolve("passwd"), "nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n");
            Files.writeString(home.resolve("group"), "nogroup:x:65534:\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the sandbox in " + home, e);
        }
        this.systemArgs = systemArgs();
    }

    /**
     * Starts the process on the spawner thread (see {@link #spawner}). Blocking until it has
     * started (milliseconds).
     */
    Process start(ProcessBuilder builder) throws IOException {
        try {
            return spawner.submit(builder::start).get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException("cannot start " + builder.command().get(0), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting a process", e);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new IOException("the Python runtime is shutting down", e);
        }
    }

    /** Stops the spawner; processes it started keep their own lives (their owners stop them). */
    void close() {
        spawner.shutdown();
    }

    /** Null when workers can run as configured, otherwise why not. */
    String unavailableReason() {
        if (config.sandboxed() && bwrap.isEmpty()) {
            return "the worker sandbox needs bubblewrap (apt-get install bubblewrap, then restart ServeML), or set "
                    + "SERVEML_PYTHON_SANDBOX=off on a single-user machine";
        }
        if (!Files.isExecutable(config.interpreter())) {
            return "the Python interpreter " + config.interpreter() + " does not exist (SERVEML_PYTHON)";
        }
        if (config.sandboxed()) {
            for (Path prefix : interpreterPrefixes()) {
                if (prefix.getNameCount() == 0 || config.workerDir().startsWith(prefix)) {
                    return "the Python interpreter " + config.interpreter() + " lies in " + prefix + ", which holds "
                            + "the data directory or is the root; the sandbox would have to show it (SERVEML_PYTHON)";
                }
            }
        }
        return null;
    }

    boolean enabled() {
        return config.sandboxed();
    }

    /** Where a bound host path is seen by the command: {@code inside} when sandboxed, else the host path. */
    String path(Path host, String inside) {
        return enabled() ? inside : host.toString();
    }

    /**
     * A process builder for the jail, its environment set. When sandboxed, bubblewrap's options are
     * written to {@code scratch} (a directory of ServeML's own, not bound into the jail), which must
     * stay until the command has started (it connected, or exited).
     */
    ProcessBuilder command(Jail jail, Path scratch) {
        ProcessBuilder pb;
        if (!enabled()) {
            pb = new ProcessBuilder(jail.command());
            pb.environment().clear();
            pb.environment().putAll(jail.environment());
            return pb;
        }
        List<String> args = new ArrayList<>(List.of("--unshare-all", "--unshare-user", "--disable-userns",
                "--uid", NOBODY, "--gid", NOBODY, "--cap-drop", "ALL", "--die-with-parent", "--new-session",
                "--hostname", "serveml"));
        if (jail.network()) {
            args.add("--share-net");
        }
        args.addAll(systemArgs);
        if (jail.network()) {
            for (String name : ETC_NETWORK) {
                Path p = Path.of("/etc", name);
                if (Files.exists(p)) {
                    args.addAll(List.of("--ro-bind", p.toString(), p.toString()));
                }
            }
        }
        if (jail.tmp().isPresent()) {
            args.addAll(List.of("--bind", jail.tmp().get().toString(), "/tmp"));
        } else {
            args.addAll(List.of("--size", Long.toString(jail.tmpBytes()), "--perms", "1777", "--tmpfs", "/tmp"));
        }
        for (Bind b : jail.binds()) {
            args.addAll(List.of(b.writable() ? "--bind" : "--ro-bind", b.source().toString(), b.target()));
        }
        // Everything bwrap created on its root (mount points, /etc) is frozen: nothing to write beside a bind.
        args.addAll(List.of("--remount-ro", "/", "--chdir", "/tmp", "--clearenv"));
        new TreeMap<>(jail.environment()).forEach((k, v) -> args.addAll(List.of("--setenv", k, v)));
        seccomp.ifPresent(s -> args.addAll(List.of("--seccomp", "4")));
        Path argsFile = scratch.resolve("bwrap.args");
        try {
            Files.createDirectories(scratch);
            ByteArrayOutputStream nulSeparated = new ByteArrayOutputStream();
            for (String a : args) {
                if (a.indexOf('\0') >= 0) {
                    throw new IllegalArgumentException("a sandbox argument holds a NUL character");
                }
                nulSeparated.writeBytes(a.getBytes(StandardCharsets.UTF_8));
                nulSeparated.write(0);
            }
            Files.deleteIfExists(argsFile);
            Files.createFile(argsFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(argsFile, nulSeparated.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the sandbox's options", e);
        }
        List<String> command = new ArrayList<>(List.of(SH, "-c",
                "a=$1; s=$2; shift 2; exec /usr/bin/env -i \"$0\" --args 3 \"$@\" 3<\"$a\" 4<\"$s\"",
                bwrap.orElseThrow().toString(), argsFile.toString(), seccomp.map(Path::toString).orElse("/dev/null")));
        command.addAll(jail.command());
        pb = new ProcessBuilder(command);
        pb.environment().clear();
        return pb;
    }

    /** The binds every jail has: /usr and its links, a few /etc files, /dev, /proc, /dev/shm. */
    private List<String> systemArgs() {
        List<String> args = new ArrayList<>(List.of("--ro-bind", "/usr", "/usr"));
        for (String name : SYSTEM_LINKS) {
            Path p = Path.of("/", name);
            if (Files.isSymbolicLink(p)) {
                try {
                    args.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), p.toString()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                args.addAll(List.of("--ro-bind", p.toString(), p.toString()));
            }
        }
        for (Path prefix : interpreterPrefixes()) {
            args.addAll(List.of("--ro-bind", prefix.toString(), prefix.toString()));
        }
        for (String name : ETC) {
            Path p = Path.of("/etc", name);
            if (Files.exists(p)) {
                args.addAll(List.of("--ro-bind", p.toString(), p.toString()));
            }
        }
        args.addAll(List.of("--ro-bind", home.resolve("passwd").toString(), "/etc/passwd",
                "--ro-bind", home.resolve("group").toString(), "/etc/group",
                "--dev", "/dev", "--remount-ro", "/dev", "--size", Long.toString(SHM_BYTES), "--perms", "1777", "--tmpfs", "/dev/shm",
                "--proc", "/proc"));
        return args;
    }

    /**
     * The installations an interpreter outside /usr lives in, which must be bound too: the
     * grandparent of the configured path (as in {@code /opt/python3.12/bin/python3}, or a
     * virtualenv's {@code bin/python3}) and of the file it links to; none for /usr's own.
     */
    private List<Path> interpreterPrefixes() {
        List<Path> prefixes = new ArrayList<>();
        try {
            Path configured = config.interpreter().toAbsolutePath().normalize();
            // The configured name with its folders' links resolved (/bin/python3 is /usr/bin/python3), not its own.
            Path named = configured.getParent() == null ? configured
                    : configured.getParent().toRealPath().resolve(configured.getFileName());
            for (Path p : List.of(named, config.interpreter().toRealPath())) {
                if (p.startsWith("/usr")) {
                    continue;
                }
                Path bin = p.getParent();
                Path prefix = bin == null || bin.getParent() == null ? Path.of("/") : bin.getParent();
                if (!prefixes.contains(prefix)) {
                    prefixes.add(prefix);
                }
            }
        } catch (IOException e) {
            return List.of(); // unavailableReason says the interpreter is missing
        }
        return prefixes;
    }
}
