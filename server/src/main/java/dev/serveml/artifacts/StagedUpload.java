package dev.serveml.artifacts;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * A complete upload sitting in a temporary file, not yet registered.
 *
 * @param file     the temporary file (the owner deletes it when registration fails)
 * @param fileName the client's file name, without any directory part
 * @param size     bytes received
 * @param sha256   lower-case hex digest of the bytes
 * @param head     the first bytes of the file (up to 64), for format detection
 * @param requirements the text of a {@code requirements} part sent beside the file, if any
 */
public record StagedUpload(Path file, String fileName, long size, String sha256, byte[] head,
                           Optional<String> requirements) {
    public StagedUpload {
        Objects.requireNonNull(file);
        Objects.requireNonNull(fileName);
        Objects.requireNonNull(sha256);
        Objects.requireNonNull(requirements);
        head = head.clone();
    }

    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /** The extension of the file name including the dot, lower-case, or empty. */
    public String extension() {
        String lower = fileName.toLowerCase(java.util.Locale.ROOT);
        if (lower.endsWith(".tar.gz")) {
            return ".tar.gz";
        }
        int dot = lower.lastIndexOf('.');
        return dot < 0 ? "" : lower.substring(dot).replaceAll("[^a-z0-9.]", "");
    }
}
