package dev.serveml.runtime;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The runtimes enabled on this server, in the order they are asked: which one loads an upload,
 * and which one a stored version names. Thread-safe; the runtimes are closed by their owner.
 */
public final class Runtimes {
    /** The runtime that claimed an upload, and the format it named. */
    public record Detected(ModelRuntime runtime, String format) {
    }

    private final List<ModelRuntime> all;

    /** @param all asked in this order; the first that claims an upload wins */
    public Runtimes(List<ModelRuntime> all) {
        this.all = List.copyOf(all);
    }

    /**
     * The first runtime that claims this upload. Blocking: a runtime may read the whole file to
     * tell (which model an archive holds).
     *
     * @throws ProblemException {@code unsupported-model-format} when none does
     */
    public Detected detect(String fileName, byte[] head, Path file) {
        for (ModelRuntime candidate : all) {
            String format = candidate.detectFormat(fileName, head, file);
            if (format != null) {
                return new Detected(candidate, format);
            }
        }
        throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "cannot tell the format of '"
                + fileName + "' from its name; supported formats: " + formats()
                + " (name the file with its extension, e.g. model.onnx)");
    }

    /**
     * The runtime a stored version was registered with.
     *
     * @throws ProblemException {@code model-unavailable} when it is not enabled on this server
     */
    public ModelRuntime named(String name) {
        Optional<ModelRuntime> found = all.stream().filter(r -> r.name().equals(name)).findFirst();
        return found.orElseThrow(() -> new ProblemException(ProblemType.MODEL_UNAVAILABLE, "the runtime '"
                + name + "' of this version is not enabled on this server"));
    }

    /** Every format the enabled runtimes load, for error details. */
    public String formats() {
        return all.stream().flatMap(r -> r.formats().stream()).collect(Collectors.joining(", "));
    }
}
