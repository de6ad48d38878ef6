package dev.serveml.runtime.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.serveml.artifacts.Archives;
import dev.serveml.config.RuntimeConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.ModelRuntime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * ONNX Runtime in process. One environment for the whole server, one session per loaded model.
 *
 * <p>Every load gets a private directory (mode 0700) under the runtime's run directory, holding
 * only that model's files: the uploaded {@code .onnx} (hard-linked, or copied) or the extracted
 * archive. The session is created from the model file there, after {@link ExternalData} has
 * checked that every external-data path names a file in that directory; ONNX Runtime resolves
 * those paths relative to the model file, so it can see nothing else (never the artifact store,
 * where other tenants' files are siblings, nor the upload staging directory). The directory is
 * removed when the model is closed or the load fails.
 *
 * <p>Accepted uploads: a single {@code .onnx} file (which then may not use external data at
 * all, as nothing else came with it), or a {@code .zip} / {@code .tar.gz} holding exactly one
 * {@code .onnx} file and the files its external data names (Optimum's {@code model.onnx} +
 * {@code model.onnx_data}), and no Python model (see {@link #detectFormat(String, byte[], Path)}).
 */
public final class OnnxModelRuntime implements ModelRuntime {
    private static final Logger log = LoggerFactory.getLogger(OnnxModelRuntime.class);
    /** Entries that make an archive a Python model even when it also holds an .onnx file. */
    private static final List<String> PYTHON_MODEL_ENDINGS = List.of(".pkl", ".pickle", ".joblib", ".pt", ".pth",
            ".torchscript", ".ubj");
    private static final int MAX_LISTED_ENTRIES = 10_000;

    private final OrtEnvironment environment;
    private final RuntimeConfig config;
    private final Path runDir;
    private final long maxExtractBytes;

    /**
     * Whether an archive entry makes the archive a Python model (a pickle, TorchScript, XGBoost's
     * binary, or a {@code handler.py}): such archives are the Python runtime's even when they hold an
     * ONNX file, whichever runtime is asked first.
     */
    public static boolean isPythonModelEntry(String entryName) {
        String lower = entryName.toLowerCase(Locale.ROOT);
        String base = lower.substring(lower.lastIndexOf('/') + 1);
        return base.equals("handler.py") || PYTHON_MODEL_ENDINGS.stream().anyMatch(base::endsWith);
    }

    /**
     * @param runDir          where the private per-load directories go; emptied now (leftovers of a crash)
     * @param maxExtractBytes the most an uploaded archive may expand to
     */
    public OnnxModelRuntime(RuntimeConfig config, Path runDir, long maxExtractBytes) {
        this.config = config;
        this.runDir = emptyRunDirectory(runDir);
        this.maxExtractBytes = maxExtractBytes;
        this.environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "serveml");
    }

    @Override
    public String name() {
        return "onnx";
    }

    @Override
    public List<String> formats() {
        return List.of("onnx");
    }

    @Override
    public String detectFormat(String fileName, byte[] head) {
        return fileName.toLowerCase(Locale.ROOT).endsWith(".onnx") ? "onnx" : null;
    }

    /**
     * A {@code .onnx} file, or an archive whose entries hold exactly one {@code .onnx} file, no
     * {@code handler.py} and no Python model file ({@code .pkl}, {@code .joblib}, {@code .pt}, ...):
     * those stay the Python runtime's. The format is {@code onnx} either way; the file name says
     * whether it is an archive. Reads the archive's entry names only: a zip's central directory,
     * a tar.gz decompressed no further than the extraction limit.
     */
    @Override
    public String detectFormat(String fileName, byte[] head, Path file) {
        if (detectFormat(fileName, head) != null) {
            return "onnx";
        }
        String kind = archiveKind(fileName);
        if (kind == null) {
            return null;
        }
        List<String> names;
        try {
            names = Archives.entryNames(file, kind, MAX_LISTED_ENTRIES, maxExtractBytes);
        } catch (ProblemException e) {
            return null; // unreadable or too large: the Python runtime, which claims archives, says why
        }
        int onnx = 0;
        for (String name : names) {
            String lower = name.toLowerCase(Locale.ROOT);
            String base = lower.substring(lower.lastIndexOf('/') + 1);
            if (isPythonModelEntry(name)) {
                return null;
            }
            if (base.endsWith(".onnx")) {
                onnx++;
            }
        }
        return onnx == 1 ? "onnx" : null;
    }

    private static String archiveKind(String fileName) {
        return Archives.kind(fileName);
    }

    @Override
    public LoadedModel load(LoadRequest request) {
        Path loadDir = privateDirectory(runDir);
        OrtSession session = null;
        Path model = null;
        try {
            model = materialize(request, loadDir);
            ExternalData.check(model);
            long size = totalSize(loadDir);
            try (OrtSession.SessionOptions options = sessionOptions(config)) {
                session = environment.createSession(model.toString(), options);
                return new OnnxLoadedModel(environment, session, OnnxSignatures.extract(session), size,
                        request.resources().instances(), config.maxOutputElements(), () -> deleteTree(loadDir));
            }
        } catch (OrtException e) {
            closeQuietly(session);
            deleteTree(loadDir);
            throw new ProblemException(ProblemType.INVALID_MODEL,
                    "ONNX Runtime could not load the file as an ONNX model: " + clean(e.getMessage(), model, loadDir)
                            + ". Export the model with a current ONNX converter and upload the .onnx file itself"
                            + " (or, with external data, one archive holding the .onnx file and its data files).");
        } catch (RuntimeException e) {
            closeQuietly(session);
            deleteTree(loadDir);
            throw e;
        }
    }

    /**
     * A runtime's run directory, absolute, emptied of a crash's leftovers and created.
     */
    public static Path emptyRunDirectory(Path runDir) {
        Path dir = runDir.toAbsolutePath().normalize();
        deleteTree(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the run directory " + dir, e);
        }
        return dir;
    }

    /** How every session of a tenant's model runs: the configured intra-op threads, one inter-op, all optimisations. */
    public static OrtSession.SessionOptions sessionOptions(RuntimeConfig config) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(config.onnxIntraOpThreads());
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return options;
    }

    /** A new directory (mode 0700) under {@code runDir} for one load's files. */
    public static Path privateDirectory(Path runDir) {
        try {
            return Files.createTempDirectory(runDir, "load-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a directory to load the model in", e);
        }
    }

    /** Lays the model's own files out in {@code loadDir}; returns the .onnx file to load. */
    private Path materialize(LoadRequest request, Path loadDir) {
        String kind = archiveKind(request.fileName());
        try {
            if (kind == null) {
                Path model = loadDir.resolve("model.onnx");
                try {
                    Files.createLink(model, request.artifact());
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(request.artifact(), model);
                }
                return model;
            }
            Archives.extract(request.artifact(), kind, loadDir, maxExtractBytes);
            List<Path> models;
            try (Stream<Path> files = Files.walk(loadDir)) {
                models = files.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        .filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx"))
                        .sorted(Comparator.naturalOrder()).toList();
            }
            if (models.size() != 1) {
                throw new ProblemException(ProblemType.INVALID_MODEL, "an ONNX archive must hold exactly one .onnx "
                        + "file (and the files its external data names); it holds " + models.size());
            }
            return models.get(0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lay out the model's files", e);
        }
    }

    /** The bytes of the files under {@code dir}. */
    public static long totalSize(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model's files", e);
        }
    }

    /** ORT messages name the files we gave it; the client must never see our paths. */
    static String clean(String message, Path model, Path loadDir) {
        if (message == null) {
            return "unknown error";
        }
        String text = message;
        if (model != null) {
            text = text.replace(model.toString(), "the uploaded file");
        }
        text = text.replace(loadDir.toString(), "")
                .replaceAll("(/[\\w.\\-]+)+/", "");
        text = text.replaceFirst("^Error code - ORT_\\w+ - message: ", "").strip();
        while (text.endsWith(".")) {
            text = text.substring(0, text.length() - 1);
        }
        return text;
    }

    private static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException ignored) {
                // the load already failed; the first error is the one to report
            }
        }
    }

    /** Removes a directory and everything in it, never following links; failures are logged. */
    public static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(dir, Set.of(), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException ignored) {
            // already gone
        } catch (IOException e) {
            log.warn("could not remove {}: {}", dir, e.toString());
        }
    }

    @Override
    public void close() {
        // The environment is process-wide in ONNX Runtime's Java API; it is released at exit.
    }
}
