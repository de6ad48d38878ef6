package dev.serveml.artifacts;

import java.nio.file.Path;

/** Durable model files. Thread-safe; blocking. */
public interface ArtifactStore {

    /**
     * Moves a staged file in under {@code key}. Content-addressed keys make a second put of the
     * same key a no-op.
     *
     * @return true if this call created the artifact, false if it already existed
     */
    boolean put(String key, Path staged);

    /** A local path to read the artifact from (for remote stores, a cached copy). */
    Path localPath(String key);

    /** Removes an artifact; missing keys are ignored. */
    void delete(String key);

    boolean exists(String key);

    /** Removes every artifact whose key starts with {@code prefix} (a folder such as {@code jobs/<id>/}). */
    void deleteAll(String prefix);

    /** The key for content with this digest, keeping the file's extension (runtimes need it). */
    static String keyFor(String sha256, String extension) {
        return "sha256/" + sha256.substring(0, 2) + "/" + sha256 + extension;
    }
}
