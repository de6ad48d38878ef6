package dev.serveml.imports;

import java.util.List;
import java.util.Optional;

/**
 * What importing a repository at a revision would fetch, shown before anything downloads.
 *
 * @param task         the task ServeML would serve it as from the Hub's tag, when it names one it serves
 * @param variants     the ONNX variants the repository has
 * @param files        every file at the commit, and whether an import fetches it
 * @param neededBytes  what an import would fetch, at most
 * @param cached       whether the local cache already holds every needed file of that commit
 */
public record Preview(String repo, String revision, String commit, Optional<String> pipelineTag, Optional<String> task,
                      boolean isPrivate, boolean gated, List<String> variants, List<File> files, long neededBytes,
                      boolean cached) {
    public Preview {
        variants = List.copyOf(variants);
        files = List.copyOf(files);
    }

    /** One file of the repository. */
    public record File(String path, long size, boolean needed) {
    }
}
