package dev.serveml.hub;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * A branch, tag or commit of a repository. Git allows more than this; ServeML takes what Hub
 * revisions look like ({@code main}, {@code v1.0}, {@code refs/pr/3}, a commit sha), because a
 * revision also names a file under {@code refs/} in the cache.
 */
record Revision(String name) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,99}){0,3}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    Revision {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..") || name.endsWith(".lock")
                || name.endsWith(".")) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/revision",
                    "not a revision: expected a branch, tag or commit such as main, v1.0, refs/pr/1 or a 40-digit sha");
        }
    }

    static boolean isCommit(String text) {
        return text != null && COMMIT.matcher(text).matches();
    }

    boolean isCommit() {
        return isCommit(name);
    }

    /** One URL path segment, slashes included, as huggingface_hub quotes it. */
    String encoded() {
        return URLEncoder.encode(name, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return name;
    }
}
