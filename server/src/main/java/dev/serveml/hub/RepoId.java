package dev.serveml.hub;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model repository on the Hub, {@code namespace/name} (or a legacy bare {@code name}), checked
 * against the Hub's own rules (huggingface_hub's {@code validate_repo_id}): each part 1-96 of
 * {@code [A-Za-z0-9._-]}, not starting or ending with {@code .} or {@code -}, no {@code --} or
 * {@code ..}. Nothing else gets through, so an id can never add a path segment, a query, a fragment
 * or a host to the URLs built from it, nor leave the cache folder named after it.
 */
public record RepoId(Optional<String> namespace, String name) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?");
    private static final String PREFIX = "hf://";

    public RepoId {
        namespace.ifPresent(RepoId::check);
        check(name);
    }

    private static void check(String part) {
        if (!PART.matcher(part).matches() || part.contains("--") || part.contains("..")) {
            throw new IllegalArgumentException("not a repository name part");
        }
    }

    /**
     * Parses {@code org/name} or {@code hf://org/name}.
     *
     * @throws ProblemException {@code invalid-request} on {@code /source} when it is not a repository id
     */
    public static RepoId parse(String text) {
        String id = text != null && text.startsWith(PREFIX) ? text.substring(PREFIX.length()) : text;
        try {
            if (id == null || id.length() > 200) {
                throw new IllegalArgumentException();
            }
            int slash = id.indexOf('/');
            return slash < 0 ? new RepoId(Optional.empty(), id)
                    : new RepoId(Optional.of(id.substring(0, slash)), id.substring(slash + 1));
        } catch (IllegalArgumentException e) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/source",
                    "not a Hugging Face repository id: expected hf://namespace/name, each part 1-96 letters, digits, "
                            + "'.', '_' or '-' (not starting or ending with '.' or '-', no '--' or '..')");
        }
    }

    /** {@code org/name}, as the Hub writes it; safe in a URL path as it is. */
    public String id() {
        return namespace.map(n -> n + "/" + name).orElse(name);
    }

    /** The repository's folder in the cache: {@code models--org--name}. */
    String cacheFolder() {
        return "models--" + id().replace("/", "--");
    }

    @Override
    public String toString() {
        return id();
    }
}
