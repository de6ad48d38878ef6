package dev.serveml.runtime.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.serveml.config.RuntimeConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.ModelRuntime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** ONNX Runtime in process. One environment for the whole server, one session per loaded model. */
public final class OnnxModelRuntime implements ModelRuntime {
    private final OrtEnvironment environment;
    private final RuntimeConfig config;

    public OnnxModelRuntime(RuntimeConfig config) {
        this.config = config;
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

    @Override
    public LoadedModel load(LoadRequest request) {
        Path artifact = request.artifact();
        long size;
        try {
            size = Files.size(artifact);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read artifact", e);
        }
        OrtSession session = null;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(config.onnxIntraOpThreads());
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = environment.createSession(artifact.toString(), options);
            return new OnnxLoadedModel(environment, session, OnnxSignatures.extract(session), size,
                    request.resources().instances());
        } catch (OrtException e) {
            closeQuietly(session);
            throw new ProblemException(ProblemType.INVALID_MODEL,
                    "ONNX Runtime could not load the file as an ONNX model: " + clean(e.getMessage(), artifact)
                            + ". Export the model with a current ONNX converter and upload the .onnx file itself.");
        } catch (ProblemException e) {
            closeQuietly(session);
            throw e;
        }
    }

    /** ORT messages name the file we gave it; the client must never see our paths. */
    static String clean(String message, Path artifact) {
        if (message == null) {
            return "unknown error";
        }
        String text = message.replace(artifact.toString(), "the uploaded file")
                .replace(artifact.toAbsolutePath().toString(), "the uploaded file")
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

    @Override
    public void close() {
        // The environment is process-wide in ONNX Runtime's Java API; it is released at exit.
    }
}
