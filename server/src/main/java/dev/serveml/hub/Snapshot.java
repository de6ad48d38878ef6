package dev.serveml.hub;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The files of a repository at one commit, in the local cache and ready to read.
 *
 * @param commit       the pinned commit
 * @param directory    {@code snapshots/<commit>} in the cache
 * @param files        each chosen repository path and where it is on disk (a link into {@code blobs/})
 * @param onnxPath     the repository path of the chosen ONNX graph; its external data sits beside it
 * @param pipelineTag  the Hub's task tag; empty offline, where the Hub was not asked
 * @param totalBytes   the bytes of all the files together
 */
public record Snapshot(RepoId repo, String commit, Path directory, Map<String, Path> files, String onnxPath,
                       Optional<String> pipelineTag, long totalBytes) {
    public Snapshot {
        files = Map.copyOf(files);
    }
}
