package dev.serveml.runtime.python;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.tensor.Tensor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * One worker process serving one model, one request at a time: started, greeted (HELLO), told to
 * load (LOAD → LOADED), then asked to predict. Its stdout and stderr go to the log tagged with the
 * model; the last stderr lines are kept to explain a crash. Not thread-safe: a pool lends a worker
 * to one caller at a time.
 */
final class Worker implements WorkerPool.Member {
    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    private static final int STDERR_LINES = 30;

    /**
     * How to start a worker.
     *
     * @param launcher   starts the worker's process (on the sandbox's spawner thread), given the
     *                   fresh directory of ServeML's own that holds its socket {@code worker.sock}
     *                   (and whatever else starting it needs)
     * @param socketRoot where those directories are made; each is removed once its worker connected
     *                   or failed, so nothing of it outlives the start
     * @param modelDir   the model directory as the worker sees it (LOAD's {@code model_dir})
     */
    record Spec(String label, Function<Path, Process> launcher, Path socketRoot, String modelDir,
                String modelFile, String format, int maxFrame, Duration startTimeout) {
    }

    /** What the worker said when its model loaded. */
    record Loaded(JsonNode hello, JsonNode loaded) {
    }

    /** The worker died or broke the protocol; the caller's request did not complete. */
    static final class WorkerDied extends Exception {
        WorkerDied(String message) {
            super(message);
        }
    }

    private final Spec spec;
    private final ObjectMapper json;
    private final Process process;
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;
    private final Stderr stderr;
    private final AtomicBoolean timedOut = new AtomicBoolean();
    private final Loaded loaded;

    private Worker(Spec spec, ObjectMapper json, Process process, SocketChannel channel, Stderr stderr,
                   Loaded loaded) throws IOException {
        this.spec = spec;
        this.json = json;
        this.process = process;
        this.channel = channel;
        this.in = new BufferedInputStream(Channels.newInputStream(channel), 64 * 1024);
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 64 * 1024);
        this.stderr = stderr;
        this.loaded = loaded;
    }

    /**
     * Starts a worker and loads its model. Blocking, bounded by the spec's start timeout.
     *
     * @throws ProblemException {@code invalid-model} when the model does not load, with the worker's reason
     */
    static Worker start(Spec spec, ObjectMapper json, ScheduledExecutorService timers) {
        Path socketDir = spec.socketRoot().resolve(UUID.randomUUID().toString().substring(0, 8));
        Path socket = socketDir.resolve("worker.sock");
        Stderr stderr = null;
        Process process = null;
        SocketChannel channel = null;
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            Files.createDirectories(spec.socketRoot());
            Files.createDirectory(socketDir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            server.bind(UnixDomainSocketAddress.of(socket));
            server.configureBlocking(false);
            process = spec.launcher().apply(socketDir);
            stderr = pipeLogs(spec.label(), process);
            long deadline = System.nanoTime() + spec.startTimeout().toNanos();
            while ((channel = server.accept()) == null) {
                if (!process.isAlive()) {
                    throw startFailure(spec, "the worker exited with status " + process.exitValue()
                            + " before connecting", stderr, process);
                }
                if (System.nanoTime() > deadline) {
                    throw startFailure(spec, "the worker did not connect within " + spec.startTimeout().toSeconds()
                            + " s", stderr, process);
                }
                Thread.sleep(10);
            }
            channel.configureBlocking(true);
            // Connected: the socket's name (and the sandbox's options beside it) are no longer needed.
            Environments.deleteTree(socketDir);
            Process started = process;
            ScheduledFuture<?> guard = timers.schedule(started::destroyForcibly, spec.startTimeout().toMillis(),
                    TimeUnit.MILLISECONDS);
            try {
                InputStream in = new BufferedInputStream(Channels.newInputStream(channel));
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel));
                Frames.Frame hello = Frames.read(in, spec.maxFrame());
                if (hello.type() != Frames.HELLO) {
                    throw startFailure(spec, "the worker did not say hello (frame type " + hello.type() + ")", stderr,
                            process);
                }
                Frames.write(out, Frames.LOAD, json.writeValueAsBytes(Map.of("model_dir", spec.modelDir(),
                        "model_file", spec.modelFile(), "format", spec.format())));
                Frames.Frame answer = Frames.read(in, spec.maxFrame());
                if (answer.type() == Frames.ERROR) {
                    JsonNode error = json.readTree(answer.payload());
                    throw new ProblemException(ProblemType.INVALID_MODEL, "the model could not be loaded: "
                            + clientText(error.path("message").asText("unknown error"), spec.modelDir()));
                }
                if (answer.type() != Frames.LOADED) {
                    throw startFailure(spec, "unexpected frame type " + answer.type() + " instead of LOADED", stderr,
                            process);
                }
                Loaded loaded = new Loaded(json.readTree(hello.payload()), json.readTree(answer.payload()));
                return new Worker(spec, json, process, channel, stderr, loaded);
            } finally {
                guard.cancel(false);
            }
        } catch (EOFException | Frames.ProtocolException e) {
            kill(process, channel);
            throw startFailure(spec, "the worker exited while loading the model", stderr, process);
        } catch (IOException e) {
            kill(process, channel);
            throw new UncheckedIOException("cannot start a worker for " + spec.label(), e);
        } catch (InterruptedException e) {
            kill(process, channel);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting a worker", e);
        } catch (RuntimeException e) {
            kill(process, channel);
            throw e;
        } finally {
            Environments.deleteTree(socketDir);
        }
    }

    private static ProblemException startFailure(Spec spec, String what, Stderr stderr, Process process) {
        String tail = stderr == null ? "" : stderr.tail(process, 8);
        return new ProblemException(ProblemType.INVALID_MODEL, what + (tail.isEmpty() ? "" : "; its last words: "
                + tail));
    }

    /**
     * Platform threads, never virtual: these reads block for the worker's whole life, and a
     * virtual thread blocked in a pipe read holds its carrier; a few workers would take all of
     * them (there are as many as cores) and stop every other virtual thread (issue 12).
     */
    private static Stderr pipeLogs(String label, Process process) {
        Deque<String> lines = new ArrayDeque<>();
        Thread.ofPlatform().daemon().name("serveml-worker-stdout").start(() -> drain(label, process.getInputStream(),
                null));
        return new Stderr(lines, Thread.ofPlatform().daemon().name("serveml-worker-stderr")
                .start(() -> drain(label, process.getErrorStream(), lines)));
    }

    /** A worker's last stderr lines, and the thread reading them. */
    private record Stderr(Deque<String> lines, Thread reader) {
        /** The last {@code n} lines; once the process is gone, after its final lines were read (bounded). */
        String tail(Process process, int n) {
            if (!process.isAlive()) {
                try {
                    reader.join(1_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return Worker.tail(lines, n);
        }
    }

    private static void drain(String label, InputStream stream, Deque<String> keep) {
        try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(stream, StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                log.info("[{}] {}", label, line);
                if (keep != null) {
                    synchronized (keep) {
                        keep.addLast(line);
                        if (keep.size() > STDERR_LINES) {
                            keep.removeFirst();
                        }
                    }
                }
            }
        } catch (IOException ignored) {
            // the worker is gone
        }
    }

    Loaded loaded() {
        return loaded;
    }

    @Override
    public long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive() && channel.isOpen();
    }

    /**
     * Runs one prediction.
     *
     * @throws WorkerDied       when the worker dies or breaks the protocol (the worker is unusable)
     * @throws ProblemException {@code inference-timeout} past the timeout (the worker is killed),
     *                          {@code invalid-input} or {@code model-error} when the model refused
     *                          the input or raised (the worker stays usable)
     */
    @Override
    public List<Tensor> predict(List<Tensor> inputs, Duration timeout, ScheduledExecutorService timers)
            throws WorkerDied {
        ScheduledFuture<?> guard = timers.schedule(() -> {
            timedOut.set(true);
            process.destroyForcibly();
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            Frames.write(out, Frames.PREDICT, Frames.encodeTensors(inputs));
            Frames.Frame answer = Frames.read(in, spec.maxFrame());
            return switch (answer.type()) {
                case Frames.RESULT -> Frames.decodeTensors(answer.payload());
                case Frames.ERROR -> throw modelError(json.readTree(answer.payload()));
                default -> throw new Frames.ProtocolException("unexpected frame type " + answer.type());
            };
        } catch (IOException e) {
            if (timedOut.get()) {
                kill(process, channel);
                throw new ProblemException(ProblemType.INFERENCE_TIMEOUT, "the model did not answer within "
                        + timeout.toMillis() + " ms; its worker was replaced");
            }
            // Described before the kill, so its own exit status and last words are what is reported.
            String death = describeDeath(e);
            kill(process, channel);
            throw new WorkerDied(death);
        } finally {
            guard.cancel(false);
        }
    }

    private ProblemException modelError(JsonNode error) {
        String message = clientText(error.path("message").asText("unknown error"), spec.modelDir());
        return switch (error.path("kind").asText()) {
            case "input" -> new ProblemException(ProblemType.INVALID_INPUT, message);
            default -> new ProblemException(ProblemType.MODEL_ERROR, "the model raised an error: " + message);
        };
    }

    /**
     * What a client may see of a worker's error: its first line, with the model directory and any
     * other absolute path taken out (libraries put their install paths and stack traces in messages).
     */
    static String clientText(String message, String modelDir) {
        String first = message.strip().lines().findFirst().orElse("unknown error");
        first = first.replace(modelDir + "/", "").replace(modelDir, "the model directory");
        return first.replaceAll("(?<![\\w.])(/[\\w.+-]+)+/", "");
    }

    String describeDeath(Exception e) {
        try {
            process.waitFor(2, TimeUnit.SECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
        String status = process.isAlive() ? "stopped answering (" + e.getMessage() + ")"
                : "exited with status " + process.exitValue();
        String tail = lastErrors();
        return "the worker (pid " + process.pid() + ") " + status + (tail.isEmpty() ? "" : "; its last words: " + tail);
    }

    String lastErrors() {
        return stderr.tail(process, 8);
    }

    private static String tail(Deque<String> lines, int n) {
        synchronized (lines) {
            List<String> all = List.copyOf(lines);
            return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
        }
    }

    @Override
    public void close() {
        if (process.isAlive() && channel.isOpen()) {
            try {
                Frames.write(out, Frames.SHUTDOWN, new byte[0]);
                if (process.waitFor(2, TimeUnit.SECONDS)) {
                    kill(null, channel);
                    return;
                }
            } catch (IOException e) {
                // fall through to the kill
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        kill(process, channel);
    }

    private static void kill(Process process, SocketChannel channel) {
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }
}
