package dev.serveml.runtime.python;

import dev.serveml.config.PipConfig;
import dev.serveml.config.PythonConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Virtualenvs for models that bring a requirements.txt: created with
 * {@code --system-site-packages} (so Debian's numpy, scikit-learn... count as installed), filled
 * by {@code pip install} under a timeout, and cached by the hash of the requirements so the same
 * list is built once. A failed build leaves no cache entry. Both steps run in the sandbox the
 * workers run in: a cleared environment, no data directory (only the virtualenv being built,
 * writable, the requirements file and the wheelhouse, read-only), network only when an index is
 * configured, wheels only by default. Requirement lines are checked first ({@link Requirements}).
 *
 * <p>Each use marks the environment; environments no loaded version holds and unused for the
 * configured retention are removed at start and after each build. Thread-safe.
 */
final class Environments {
    private static final Logger log = LoggerFactory.getLogger(Environments.class);
    private static final String READY = ".serveml-ready";
    private static final String LAST_USED = ".serveml-last-used";
    private static final String BUILDING = ".tmp-";
    /** Where the virtualenv, the requirements and the wheelhouse are seen inside the sandbox. */
    static final String VENV = "/serveml/venv";
    private static final String REQUIREMENTS = "/serveml/requirements.txt";
    private static final String WHEELHOUSE = "/serveml/wheelhouse";

    private final PythonConfig config;
    private final PipConfig pip;
    private final Sandbox sandbox;
    private final Path scratch;
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();
    /** Environment directory name → loaded versions using it; guarded by that name's lock. */
    private final ConcurrentHashMap<String, Integer> inUse = new ConcurrentHashMap<>();

    /**
     * @param scratch a directory of ServeML's own for the builds' options, requirements and pip's /tmp
     */
    Environments(PythonConfig config, Sandbox sandbox, Path scratch) {
        this.config = config;
        this.pip = config.pip();
        this.sandbox = sandbox;
        this.scratch = scratch;
        collect(true);
    }

    /**
     * Takes the environment for these requirements, building it now if needed, for one loaded
     * version until {@link #release}: the virtualenv's directory, or empty for the server's own
     * Python (no requirements).
     *
     * @throws ProblemException {@code invalid-requirements} for a line pip may not be given,
     *                          {@code environment-failed} when pip fails (with its own error lines)
     */
    Optional<Path> acquire(Optional<String> requirements, String label) {
        Requirements wanted = checked(requirements);
        if (wanted.isEmpty()) {
            return Optional.empty();
        }
        Path dir = dirFor(wanted);
        String name = dir.getFileName().toString();
        boolean built;
        synchronized (lock(name)) {
            built = !Files.exists(dir.resolve(READY));
            if (built) {
                build(dir, wanted, label);
            }
            inUse.merge(name, 1, Integer::sum);
            markUsed(dir);
        }
        if (built) {
            collect(false);
        }
        return Optional.of(dir);
    }

    /** Gives back an environment {@link #acquire} returned. */
    void release(Optional<Path> venv) {
        venv.ifPresent(dir -> {
            String name = dir.getFileName().toString();
            synchronized (lock(name)) {
                inUse.computeIfPresent(name, (k, n) -> n > 1 ? n - 1 : null);
                markUsed(dir);
            }
        });
    }

    /** Makes sure the requirements' environment exists, building it now if needed; says what it did. */
    String ensure(Optional<String> requirements, String label) {
        Requirements wanted = checked(requirements);
        if (wanted.isEmpty()) {
            return "no requirements: the server's Python packages";
        }
        boolean cached = Files.exists(dirFor(wanted).resolve(READY));
        long started = System.nanoTime();
        release(acquire(requirements, label));
        return cached ? "environment for " + wanted.lines().size() + " requirement(s) ready (cached)"
                : "environment for " + wanted.lines().size() + " requirement(s) built in "
                + (System.nanoTime() - started) / 1_000_000 + " ms";
    }

    private Requirements checked(Optional<String> requirements) {
        Requirements wanted = Requirements.parse(requirements.orElse(""));
        wanted.check(pip.allowDirectReferences());
        return wanted;
    }

    private Object lock(String name) {
        return locks.computeIfAbsent(name, n -> new Object());
    }

    /** The environment's directory: named by the hash of the requirement lines, comments and blank lines left out. */
    Path dirFor(Requirements requirements) {
        return config.envDir().resolve(sha256(requirements.text()).substring(0, 16));
    }

    private void build(Path dir, Requirements requirements, String label) {
        Path temp = dir.resolveSibling(dir.getFileName() + BUILDING + UUID.randomUUID());
        Path work = scratch.resolve(UUID.randomUUID().toString());
        long started = System.nanoTime();
        try {
            Files.createDirectories(temp);
            Files.createDirectories(work.resolve("tmp"));
            Path reqFile = Files.writeString(work.resolve("requirements.txt"), requirements.text() + "\n");
            String venv = sandbox.path(temp, VENV);
            Sandbox.Bind venvBind = new Sandbox.Bind(temp, VENV, true);
            run(new Sandbox.Jail(List.of(config.interpreter().toString(), "-m", "venv", "--system-site-packages",
                    "--without-pip", venv), WorkerEnvironment.base(), List.of(venvBind), false,
                    Optional.of(work.resolve("tmp")), 0), work, "virtualenv", label);
            List<String> install = new ArrayList<>(List.of(venv + "/bin/python3", "-m", "pip", "install",
                    "--isolated", "--no-input", "--disable-pip-version-check", "--no-cache-dir", "--retries", "0",
                    "--timeout", "15"));
            if (pip.onlyBinary()) {
                install.addAll(List.of("--only-binary", ":all:"));
            }
            if (pip.indexUrl().isPresent()) {
                install.addAll(List.of("--index-url", pip.indexUrl().get()));
            } else {
                install.add("--no-index");
            }
            List<Sandbox.Bind> binds = new ArrayList<>(List.of(venvBind, Sandbox.Bind.readOnly(reqFile, REQUIREMENTS)));
            if (pip.wheelhouse().isPresent()) {
                install.addAll(List.of("--find-links", sandbox.path(pip.wheelhouse().get(), WHEELHOUSE)));
                binds.add(Sandbox.Bind.readOnly(pip.wheelhouse().get(), WHEELHOUSE));
            }
            install.addAll(List.of("-r", sandbox.path(reqFile, REQUIREMENTS)));
            run(new Sandbox.Jail(install, WorkerEnvironment.base(), binds, pip.indexUrl().isPresent(),
                    Optional.of(work.resolve("tmp")), 0), work, "pip install", label);
            Files.writeString(temp.resolve(READY), requirements.text());
            deleteTree(dir);
            // A venv made --without-pip links its interpreter absolutely, so it may be moved into place.
            Files.move(temp, dir);
            log.info("[{}] environment ready in {} ms", label, (System.nanoTime() - started) / 1_000_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build a virtualenv in " + dir, e);
        } finally {
            deleteTree(temp);
            deleteTree(work);
        }
    }

    /** Runs one step; a non-zero exit or a timeout is the user's {@code environment-failed} problem. */
    private void run(Sandbox.Jail jail, Path work, String step, String label) throws IOException {
        Process p = sandbox.start(sandbox.command(jail, work).redirectErrorStream(true));
        List<String> output = new ArrayList<>();
        // A platform thread: this read blocks for as long as pip runs, and a virtual thread would
        // hold one of the few carriers all that time (see PythonModelRuntime).
        Thread reader = Thread.ofPlatform().daemon().name("serveml-pip-output").start(() -> {
            try (var lines = p.inputReader(StandardCharsets.UTF_8)) {
                lines.lines().forEach(line -> {
                    log.info("[{}] {}: {}", label, step, line);
                    synchronized (output) {
                        output.add(line);
                    }
                });
            } catch (IOException | UncheckedIOException ignored) {
                // the process ended
            }
        });
        boolean finished;
        try {
            finished = p.waitFor(pip.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            reader.join(5_000);
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + step, e);
        }
        if (!finished) {
            throw new ProblemException(ProblemType.ENVIRONMENT_FAILED, step + " did not finish within "
                    + pip.timeout().toSeconds() + " s (SERVEML_PIP_TIMEOUT); last output: " + tail(output, 5));
        }
        if (p.exitValue() != 0) {
            throw new ProblemException(ProblemType.ENVIRONMENT_FAILED, step + " failed (exit " + p.exitValue()
                    + "): " + errors(output));
        }
    }

    /** pip's own error lines, or the end of its output when it printed none. */
    static String errors(List<String> output) {
        synchronized (output) {
            List<String> errors = output.stream().filter(l -> l.startsWith("ERROR") || l.contains("error:"))
                    .collect(Collectors.toList());
            return errors.isEmpty() ? tail(output, 8) : String.join("\n", errors);
        }
    }

    private static String tail(List<String> lines, int n) {
        synchronized (lines) {
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
    }

    private static void markUsed(Path dir) {
        try {
            Path mark = dir.resolve(LAST_USED);
            if (!Files.exists(mark)) {
                Files.createFile(mark);
            }
            Files.setLastModifiedTime(mark, FileTime.from(Instant.now()));
        } catch (IOException e) {
            log.warn("cannot mark the use of {}: {}", dir, e.getMessage());
        }
    }

    /**
     * Removes what no one will use: half-built environments left by a stop (at start only: later
     * they may be building), and environments no loaded version holds that were last used longer
     * ago than the retention. Called by this class; package-private for EnvironmentsTest.
     */
    void collect(boolean atStart) {
        if (!Files.isDirectory(config.envDir())) {
            return;
        }
        List<Path> entries;
        try (Stream<Path> listing = Files.list(config.envDir())) {
            entries = listing.toList();
        } catch (IOException e) {
            log.warn("cannot list {}: {}", config.envDir(), e.getMessage());
            return;
        }
        Instant cutoff = Instant.now().minus(pip.envRetention());
        for (Path dir : entries) {
            String name = dir.getFileName().toString();
            if (name.contains(BUILDING)) {
                if (atStart) {
                    deleteTree(dir);
                }
                continue;
            }
            if (pip.envRetention().isZero()) {
                continue;
            }
            synchronized (lock(name)) {
                if (inUse.containsKey(name) || !Files.exists(dir.resolve(READY)) && !atStart) {
                    continue;
                }
                if (lastUsed(dir).isBefore(cutoff)) {
                    log.info("removing the virtualenv {}: unused since {}", name, lastUsed(dir));
                    deleteTree(dir);
                }
            }
        }
    }

    private static Instant lastUsed(Path dir) {
        for (String mark : List.of(LAST_USED, READY)) {
            try {
                return Files.getLastModifiedTime(dir.resolve(mark)).toInstant();
            } catch (IOException missing) {
                // try the next
            }
        }
        return Instant.EPOCH; // neither: not a finished environment
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            log.warn("could not delete {}: {}", dir, e.getMessage());
        }
    }
}
