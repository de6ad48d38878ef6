package dev.serveml.hub;

/**
 * Told how a download goes, from the downloading thread; it must return quickly and never throw.
 * Called at least once per file (also for a file found in the cache, with all its bytes done) and
 * then as bytes arrive; a caller that streams it (SSE) thins it out itself.
 */
@FunctionalInterface
public interface HubProgress {
    HubProgress NONE = p -> { };

    void update(Progress progress);

    /**
     * @param path        the repository path of the file in transfer
     * @param fileBytes   bytes of it on disk so far (a resumed transfer starts above 0)
     * @param fileTotal   its size from the listing
     * @param doneBytes   bytes of all the chosen files done so far
     * @param totalBytes  bytes of all the chosen files, known before the first byte is fetched
     */
    record Progress(String path, long fileBytes, long fileTotal, long doneBytes, long totalBytes) {
        /** Whole percent of the overall transfer, 100 when there is nothing to fetch. */
        public int percent() {
            return totalBytes == 0 ? 100 : (int) (doneBytes * 100 / totalBytes);
        }
    }
}
