package dev.serveml.artifacts;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.nio.file.FileSystemException;

/**
 * Tells a full disk apart from a bad file. Without this, a write that ran out of space left a
 * truncated upload that then failed to load, and the tenant was told their model was broken.
 * The answer names "the data directory", never its path.
 */
public final class StorageFull {
    private StorageFull() {
    }

    /** Whether this failure (or one of its causes) is the file system running out of space or quota. */
    public static boolean causedBy(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            // The JDK and Vert.x both carry the C library's words (ENOSPC, EDQUOT) in the message.
            String message = t instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason() : t.getMessage();
            if (message != null && (message.contains("No space left on device") || message.contains("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The {@code storage-full} problem (507), keeping the cause for the server's log.
     *
     * @param during what was being done, for the client: "while receiving the upload"
     */
    public static ProblemException problem(String during, Throwable cause) {
        return new ProblemException(ProblemType.STORAGE_FULL, "the disk holding the data directory is full ("
                + during + "); nothing of this upload was kept; try again once space has been freed", cause);
    }
}
