package dev.serveml.runtime.python;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.artifacts.Archives;
import dev.serveml.config.PythonConfig;
import dev.serveml.tensor.Signature;
import dev.serveml.metrics.Meters;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.ModelRuntime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Runs pickled scikit-learn/XGBoost models, TorchScript modules and custom handlers in sandboxed
 * Python worker processes. Each load gets its own model directory (the artifact, or an archive
 * extracted safely), an interpreter (Debian's, or a cached virtualenv for its requirements), and
 * a {@link WorkerPool}.
 */
public final class PythonModelRuntime implements ModelRuntime {
    private static final Logger log = LoggerFactory.getLogger(PythonModelRuntime.class);
    private static final String WORKER_PACKAGE = "python/serveml_worker/";
    /** Where the sandbox shows the model directory, the worker package and the worker's socket. */
    private static final String MODEL_DIR = "/serveml/model";
    private static final String WORKER_DIR = "/serveml/worker";
    private static final String SOCKET = "/run/serveml/worker.sock";
    /** A worker's private /tmp (a tmpfs, so memory) holds a quarter of its memory limit, at most this. */
    private static final long MAX_TMP_BYTES = 1L << 30;
    private static final List<String> MODEL_EXTENSIONS = List.of(".pkl", ".pickle", ".joblib", ".json", ".ubj",
            ".pt", ".pth", ".torchscript");

    private final PythonConfig config;
    private final ObjectMapper json;
    private final Meters meters;
    private final Path runDir;
    private final long maxExtractBytes;
    private final Sandbox sandbox;
    private final Environments environments;
    private final ScheduledExecutorService timers;
    private final String unavailable;

    public PythonModelRuntime(PythonConfig config, ObjectMapper json, Meters meters, long maxExtractBytes) {
        this.config = config;
        this.json = json;
        this.meters = meters;
        this.runDir = config.workerDir().resolveSibling("run");
        this.maxExtractBytes = maxExtractBytes;
        // Whatever a stopped server left here (model directories, sockets, builds) belongs to no one now.
        Environments.deleteTree(runDir);
        this.sandbox = new Sandbox(config, runDir.resolve("sandbox"));
        this.environments = new Environments(config, sandbox, runDir.resolve("builds"));
        this.timers = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "serveml-python-timers");
            t.setDaemon(true);
            return t;
        });
        this.unavailable = sandbox.unavailableReason();
        if (unavailable != null) {
            log.warn("Python models are disabled: {}", unavailable);
        } else if (!config.sandboxed()) {
            log.warn("SERVEML_PYTHON_SANDBOX=off: Python workers run WITHOUT a sandbox; unpickling a model runs its "
                    + "code with ServeML's rights and network. Only do this on a single-user machine.");
        }
        unpackWorker();
    }

    @Override
    public String name() {
        return "python";
    }

    @Override
    public List<String> formats() {
        return List.of("pickle", "joblib", "xgboost", "torchscript", "zip", "tar.gz");
    }

    @Override
    public String detectFormat(String fileName, byte[] head) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) {
            return "tar.gz";
        }
        int dot = lower.lastIndexOf('.');
        return dot < 0 ? null : formatOf(lower.substring(dot));
    }

    private static String formatOf(String extension) {
        return switch (extension) {
            case ".pkl", ".pickle" -> "pickle";
            case ".joblib" -> "joblib";
            case ".json", ".ubj" -> "xgboost";
            case ".pt", ".pth", ".torchscript" -> "torchscript";
            case ".zip" -> "zip";
            default -> null;
        };
    }

    @Override
    public Optional<String> prepare(LoadRequest request) {
        requireAvailable();
        Path modelDir = runDir.resolve("prepare").resolve(UUID.randomUUID().toString());
        try {
            return Optional.of(environments.ensure(materialize(request, modelDir).requirements(), request.label()));
        } finally {
            Environments.deleteTree(modelDir);
        }
    }

    private void requireAvailable() {
        if (unavailable != null) {
            throw new ProblemException(ProblemType.MODEL_UNAVAILABLE, "Python models cannot run on this server: "
                    + unavailable);
        }
    }

    @Override
    public LoadedModel load(LoadRequest request) {
        requireAvailable();
        Path modelDir = runDir.resolve("models").resolve(UUID.randomUUID().toString());
        Optional<Path> venv = Optional.empty();
        try {
            ModelFiles files = materialize(request, modelDir);
            venv = environments.acquire(files.requirements(), request.label());
            Worker.Spec spec = spec(request, venv, modelDir, files);
            Worker first = Worker.start(spec, json, timers);
            Signature signature = signature(first.loaded().loaded());
            Map<String, Object> metadata = metadata(first.loaded());
            WorkerPool.Settings settings = new WorkerPool.Settings(request.model(), request.label(),
                    request.resources().instancesOr(config.workers()),
                    config.requestTimeout(), config.idleTimeout());
            Optional<Path> held = venv;
            AtomicBoolean closed = new AtomicBoolean();
            return new WorkerPool(settings, first, () -> Worker.start(spec, json, timers), signature, metadata,
                    timers, meters, () -> {
                        if (closed.compareAndSet(false, true)) { // the environment is released once
                            Environments.deleteTree(modelDir);
                            environments.release(held);
                        }
                    });
        } catch (RuntimeException e) {
            Environments.deleteTree(modelDir);
            environments.release(venv);
            throw e;
        }
    }

    /** The model file (or handler), its format, and its requirements, laid out in its own directory. */
    private record ModelFiles(String modelFile, String format, Optional<String> requirements) {
    }

    private ModelFiles materialize(LoadRequest request, Path modelDir) {
        try {
            Files.createDirectories(modelDir);
            if (!request.format().equals("zip") && !request.format().equals("tar.gz")) {
                String file = "model" + extensionFor(request.format(), request.fileName());
                try {
                    Files.createLink(modelDir.resolve(file), request.artifact());
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(request.artifact(), modelDir.resolve(file));
                }
                return new ModelFiles(file, request.format(), request.requirements());
            }
            Archives.extract(request.artifact(), request.format(), modelDir, maxExtractBytes);
            Path root = singleTopFolder(modelDir);
            Path reqFile = root.resolve("requirements.txt");
            Optional<String> requirements = Files.exists(reqFile)
                    ? Optional.of(Files.readString(reqFile) + request.requirements().map(r -> "\n" + r).orElse(""))
                    : request.requirements();
            String relative = modelDir.relativize(root).toString();
            String prefix = relative.isEmpty() ? "" : relative + "/";
            if (Files.exists(root.resolve("handler.py"))) {
                return new ModelFiles(prefix + "handler.py", "handler", requirements);
            }
            List<Path> candidates;
            try (Stream<Path> listing = Files.list(root)) {
                candidates = listing.filter(p -> {
                    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                    return MODEL_EXTENSIONS.stream().anyMatch(n::endsWith) && !n.equals("requirements.txt")
                            && !n.equals("config.json");
                }).toList();
            }
            if (candidates.size() != 1) {
                throw new ProblemException(ProblemType.INVALID_MODEL, "the archive must hold a handler.py, or exactly "
                        + "one model file (" + String.join(", ", MODEL_EXTENSIONS) + "); it holds "
                        + candidates.stream().map(p -> p.getFileName().toString()).toList());
            }
            String name = candidates.get(0).getFileName().toString();
            String format = formatOf(name.substring(name.lastIndexOf('.')).toLowerCase(Locale.ROOT));
            return new ModelFiles(prefix + name, format, requirements);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the model directory", e);
        }
    }

    private static String extensionFor(String format, String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot);
        if (formatOf(ext) != null) {
            return ext;
        }
        return switch (format) {
            case "joblib" -> ".joblib";
            case "xgboost" -> ".json";
            case "torchscript" -> ".pt";
            default -> ".pkl";
        };
    }

    /** Archives often wrap everything in one folder; look inside it. */
    private static Path singleTopFolder(Path dir) throws IOException {
        try (Stream<Path> listing = Files.list(dir)) {
            List<Path> entries = listing.toList();
            if (entries.size() == 1 && Files.isDirectory(entries.get(0))) {
                return entries.get(0);
            }
        }
        return dir;
    }

    /**
     * How this version's workers start: in the sandbox, seeing the worker package, the model
     * directory and the virtualenv read-only at fixed paths, and only their own socket.
     */
    private Worker.Spec spec(LoadRequest request, Optional<Path> venv, Path modelDir, ModelFiles files) {
        String interpreter = venv.map(v -> sandbox.path(v, Environments.VENV) + "/bin/python3")
                .orElse(config.interpreter().toString());
        String model = sandbox.path(modelDir, MODEL_DIR);
        List<Sandbox.Bind> binds = new ArrayList<>(List.of(Sandbox.Bind.readOnly(config.workerDir(), WORKER_DIR),
                Sandbox.Bind.readOnly(modelDir, MODEL_DIR)));
        venv.ifPresent(v -> binds.add(Sandbox.Bind.readOnly(v, Environments.VENV)));
        // Some processors need these for OpenBLAS to compute correctly; never drop them.
        Map<String, String> env = WorkerEnvironment.of(request.resources().env(),
                sandbox.path(config.workerDir(), WORKER_DIR), config.passThrough());
        long memory = request.resources().memoryLimit().orElse(config.memoryLimit());
        Function<Path, Process> launcher = socketDir -> {
            Path socket = socketDir.resolve("worker.sock");
            List<String> command = List.of(interpreter, "-m", "serveml_worker",
                    "--socket", sandbox.path(socket, SOCKET),
                    "--max-frame", Integer.toString(config.maxFrame()),
                    "--memory-limit", Long.toString(memory));
            List<Sandbox.Bind> all = new ArrayList<>(binds);
            // The socket file alone, not its directory: the payload has nothing to write beside it.
            all.add(new Sandbox.Bind(socket, SOCKET, true));
            try {
                return sandbox.start(sandbox.command(new Sandbox.Jail(command, env, all, false, Optional.empty(),
                        Math.min(memory / 4, MAX_TMP_BYTES)), socketDir));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start a worker for " + request.label(), e);
            }
        };
        return new Worker.Spec(request.label(), launcher, runDir.resolve("sockets"), model, files.modelFile(),
                files.format(), config.maxFrame(), config.startTimeout());
    }

    private Signature signature(JsonNode loaded) {
        try {
            return json.treeToValue(loaded.get("signature"), Signature.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the worker reported an unreadable signature");
        }
    }

    private Map<String, Object> metadata(Worker.Loaded loaded) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        @SuppressWarnings("unchecked")
        Map<String, Object> reported = json.convertValue(loaded.loaded().path("metadata"), Map.class);
        if (reported != null) {
            metadata.putAll(reported);
        }
        metadata.put("warnings", json.convertValue(loaded.loaded().path("warnings"), List.class));
        metadata.put("python", loaded.hello().path("python").asText());
        return metadata;
    }

    /** Copies the worker package out of the JAR (or the classes directory) into the data dir. */
    private void unpackWorker() {
        Path target = config.workerDir().resolve("serveml_worker");
        Environments.deleteTree(target);
        try {
            Files.createDirectories(target);
            URL url = PythonModelRuntime.class.getClassLoader().getResource(WORKER_PACKAGE);
            if (url == null) {
                throw new IllegalStateException("the Python worker package is missing from the JAR");
            }
            if (url.getProtocol().equals("jar")) {
                JarURLConnection connection = (JarURLConnection) url.openConnection();
                try (JarFile jar = connection.getJarFile()) {
                    for (JarEntry e : java.util.Collections.list(jar.entries())) {
                        if (e.getName().startsWith(WORKER_PACKAGE) && !e.isDirectory()) {
                            Path out = target.resolve(e.getName().substring(WORKER_PACKAGE.length()));
                            Files.createDirectories(out.getParent());
                            try (InputStream in = jar.getInputStream(e)) {
                                Files.copy(in, out);
                            }
                        }
                    }
                }
            } else {
                Path source = Path.of(url.toURI());
                try (Stream<Path> files = Files.walk(source)) {
                    for (Path p : files.filter(Files::isRegularFile).toList()) {
                        Path out = target.resolve(source.relativize(p).toString());
                        Files.createDirectories(out.getParent());
                        Files.copy(p, out);
                    }
                }
            }
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot unpack the Python worker into " + target, e);
        }
    }

    @Override
    public void close() {
        timers.shutdownNow();
        sandbox.close();
        Environments.deleteTree(runDir);
    }
}
