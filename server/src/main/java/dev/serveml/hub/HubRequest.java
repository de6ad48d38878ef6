package dev.serveml.hub;

import java.util.Objects;
import java.util.Optional;

/**
 * What to fetch from the Hub.
 *
 * @param repo      the repository
 * @param revision  branch, tag or commit; the answer pins the commit it resolved to
 * @param variant   the ONNX variant ({@link FileChoice#VARIANTS}); {@code fp32} when empty
 * @param maxBytes  the chosen files together may hold at most this many bytes, checked before any is fetched
 * @param token     a caller's own Hub token, used instead of the server's (a secret: never printed)
 * @param privileged whether the server's own token ({@code SERVEML_HF_TOKEN}) may be used when {@code token} is
 *                  empty, and any repository in the cache may be read offline (an administrator's import). A
 *                  tenant's request is not: it reaches the Hub with its own token only, and offline (or with the
 *                  Hub unreachable) it reads from the cache only repositories ServeML has seen the Hub call public,
 *                  so neither the server's token nor what an administrator fetched with it is lent to anyone
 */
public record HubRequest(RepoId repo, String revision, Optional<String> variant, long maxBytes, Optional<String> token,
                         boolean privileged) {
    public HubRequest {
        Objects.requireNonNull(repo);
        Objects.requireNonNull(revision);
        Objects.requireNonNull(variant);
        Objects.requireNonNull(token);
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive");
        }
    }

    @Override
    public String toString() {
        return "HubRequest[repo=" + repo + ", revision=" + revision + ", variant=" + variant.orElse("fp32")
                + ", maxBytes=" + maxBytes + ", token=" + (token.isPresent() ? "***" : "(none)") + ", privileged=" + privileged
                + "]";
    }
}
