package dev.serveml.hub;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a fetch will bring, decided before a byte of any file is fetched: the commit the revision
 * pins, the repository's files and the ones chosen, checked against the size limit.
 *
 * @param repo         the repository
 * @param revision     the revision as asked
 * @param commit       the 40-digit commit it resolved to
 * @param info         the Hub's answer about the repository; empty when planned from the cache alone
 * @param listing      every file at the commit (from the cache: only those it holds)
 * @param choice       the files a text model needs, and the graph chosen
 */
public record HubPlan(RepoId repo, String revision, String commit, Optional<RepoInfo> info, List<RepoFile> listing,
                      FileChoice choice) {
    public HubPlan {
        Objects.requireNonNull(repo);
        Objects.requireNonNull(info);
        listing = List.copyOf(listing);
        if (!Revision.isCommit(commit)) {
            throw new IllegalArgumentException("not a commit");
        }
    }

    /** Whether the plan was made from the local cache (offline, or the Hub unreachable). */
    public boolean fromCache() {
        return info.isEmpty();
    }

    /** The Hub's task tag for the repository, when it was asked. */
    public Optional<String> pipelineTag() {
        return info.flatMap(RepoInfo::pipelineTag);
    }
}
