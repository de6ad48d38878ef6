package dev.serveml.runtime;

import dev.serveml.problem.ProblemException;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One engine that can load model artifacts. Implementations are thread-safe.
 */
public interface ModelRuntime extends AutoCloseable {

    /** The name stored on versions ({@code onnx}, {@code python}, ...). */
    String name();

    /** The artifact formats this runtime loads, e.g. {@code onnx}. */
    List<String> formats();

    /**
     * Whether an uploaded file with this name (and, for formats that have one, this leading
     * content) is for this runtime; returns the format or null.
     *
     * @param fileName the client's file name, never null
     * @param head     up to the first 64 bytes of the file
     */
    String detectFormat(String fileName, byte[] head);

    /**
     * {@link #detectFormat(String, byte[])} for a runtime that must look inside the file to tell
     * (which model an archive holds); the registry asks this one, each runtime in turn, and the
     * first answer wins. Blocking: it may read the whole file.
     *
     * @param file the uploaded file, read-only
     */
    default String detectFormat(String fileName, byte[] head, Path file) {
        return detectFormat(fileName, head);
    }

    /**
     * Loads an artifact. Blocking; call it off the event loop.
     *
     * @throws ProblemException {@code invalid-model} with an actionable detail when the file is
     *                          not a usable model for this runtime, {@code environment-failed}
     *                          when its dependencies cannot be installed
     */
    LoadedModel load(LoadRequest request);

    /**
     * Readies what {@link #load} will need, so a deployment can show it as its own step: for
     * Python, the virtualenv of the model's requirements (built now unless cached). Blocking.
     *
     * @return what was done, in words; empty when this runtime needs nothing beforehand
     * @throws ProblemException as {@link #load} does when the preparation fails
     */
    default Optional<String> prepare(LoadRequest request) {
        return Optional.empty();
    }

    @Override
    void close();
}
