package dev.serveml.runtime;

import dev.serveml.problem.ProblemException;

import java.util.List;

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
     * Loads an artifact. Blocking; call it off the event loop.
     *
     * @throws ProblemException {@code invalid-model} with an actionable detail when the file is
     *                          not a usable model for this runtime, {@code environment-failed}
     *                          when its dependencies cannot be installed
     */
    LoadedModel load(LoadRequest request);

    @Override
    void close();
}
