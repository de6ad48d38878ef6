package dev.serveml.hub;

import java.util.List;
import java.util.Optional;

/**
 * A repository at a revision, from {@code GET /api/models/{repo}/revision/{rev}}.
 *
 * @param commit       the 40-digit commit the revision pointed at when asked: what a version pins
 * @param pipelineTag  the Hub's task tag ({@code text-classification}), when the repository has one
 * @param gated        whether access must be requested ({@code auto} or {@code manual} on the Hub)
 * @param siblings     the file paths at that commit, without sizes (the tree listing has those)
 */
public record RepoInfo(RepoId repo, String commit, Optional<String> pipelineTag, boolean isPrivate, boolean gated,
                       List<String> siblings) {
    public RepoInfo {
        if (!Revision.isCommit(commit)) {
            throw new IllegalArgumentException("not a commit");
        }
        siblings = List.copyOf(siblings);
    }
}
