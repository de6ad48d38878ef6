package dev.serveml.runtime.python;

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
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Virtualenvs for models that bring a requirements.txt: created with
 * {@code --system-site-packages} (so Debian's numpy, scikit-learn... count as installed),
 * filled by {@code pip install} under a timeout, and cached by the hash of the requirements so
 * the same list is built once. A failed build leaves no cache entry. Thread-safe.
 */
final class Environments {
    private static final Logger log = LoggerFactory.getLogger(Environments.class);
    private static final String READY = ".serveml-ready";

    private final PythonConfig config;
    private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();

    Environments(PythonConfig config) {
        this.config = config;
    }

    /** The interpreter to run a model with: the base one, or its requirements' virtualenv (built now if needed). */
    Path interpreterFor(Optional<String> requirements, String label) {
        String normalized = requirements.map(Environments::normalize).orElse("");
        if (normalized.isEmpty()) {
            return config.interpreter();
        }
        String hash = sha256(normalized);
        Path dir = dirFor(hash);
        synchronized (locks.computeIfAbsent(hash, h -> new Object())) {
            if (!Files.exists(dir.resolve(READY))) {
                build(dir, normalized, label);
            }
        }
        return dir.resolve("bin").resolve("python3");
    }

    /** Makes sure the requirements' environment exists, building it now if needed; says what it did. */
    String ensure(Optional<String> requirements, String label) {
        String normalized = requirements.map(Environments::normalize).orElse("");
        if (normalized.isEmpty()) {
            return "no requirements: the server's Python packages";
        }
        long count = normalized.lines().count();
        boolean cached = Files.exists(dirFor(sha256(normalized)).resolve(READY));
        long started = System.nanoTime();
        interpreterFor(requirements, label);
        return cached ? "environment for " + count + " requirement(s) ready (cached)"
                : "environment for " + count + " requirement(s) built in " + (System.nanoTime() - started) / 1_000_000
                + " ms";
    }

    private Path dirFor(String hash) {
        return config.envDir().resolve(hash.substring(0, 16));
    }

    private void build(Path dir, String requirements, String label) {
        Path temp = dir.resolveSibling(dir.getFileName() + ".tmp-" + UUID.randomUUID());
        long started = System.nanoTime();
        try {
            Files.createDirectories(temp.getParent());
            run(List.of(config.interpreter().toString(), "-m", "venv", "--system-site-packages", "--without-pip",
                    temp.toString()), "virtualenv", label);
            Path reqFile = temp.resolve("requirements.txt");
            Files.writeString(reqFile, requirements);
            run(List.of(temp.resolve("bin/python3").toString(), "-m", "pip", "install", "--no-input",
                    "--disable-pip-version-check", "--no-cache-dir", "--retries", "0", "--timeout", "15",
                    "-r", reqFile.toString()), "pip install", label);
            Files.writeString(temp.resolve(READY), requirements);
            deleteTree(dir);
            // A venv made --without-pip links its interpreter absolutely, so it may be moved into place.
            Files.move(temp, dir);
            log.info("[{}] environment ready in {} ms", label, (System.nanoTime() - started) / 1_000_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build a virtualenv in " + dir, e);
        } finally {
            deleteTree(temp);
        }
    }

    /** Runs one step; a non-zero exit or a timeout is the user's {@code environment-failed} problem. */
    private void run(List<String> command, String step, String label) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PIP_NO_INPUT", "1");
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        List<String> output = new ArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> {
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
            finished = p.waitFor(config.pipTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            reader.join(5_000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + step, e);
        }
        if (!finished) {
            throw new ProblemException(ProblemType.ENVIRONMENT_FAILED, step + " did not finish within "
                    + config.pipTimeout().toSeconds() + " s (SERVEML_PIP_TIMEOUT); last output: " + tail(output, 5));
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

    static String normalize(String requirements) {
        return requirements.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .collect(Collectors.joining("\n"));
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
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            log.warn("could not delete {}: {}", dir, e.getMessage());
        }
    }
}
