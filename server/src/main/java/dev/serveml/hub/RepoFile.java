package dev.serveml.hub;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One file of a repository at a commit, as the Hub's tree listing gives it.
 *
 * @param path    the path inside the repository ({@code onnx/model.onnx}); checked to stay inside it
 * @param size    bytes of the file itself (for an LFS file, of its content, not the pointer)
 * @param gitOid  the git blob id (absent for a file found in an offline cache as a sha256-named blob) (sha1 of {@code "blob <size>\0" + content}): the blob's name in the cache
 *                for a file kept in git, and what its bytes are checked against
 * @param sha256  for an LFS file, the sha256 of its content (the LFS oid): its blob name and its check
 */
public record RepoFile(String path, long size, Optional<String> gitOid, Optional<String> sha256) {
    private static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SEGMENT = Pattern.compile("[^\\x00-\\x1f\\x7f/\\\\:*?\"<>|]{1,255}");

    public RepoFile {
        checkPath(path);
        if (size < 0) {
            throw new IllegalArgumentException("negative size");
        }
        if (gitOid.isPresent() && !SHA1.matcher(gitOid.get()).matches()) {
            throw new IllegalArgumentException("not a git object id");
        }
        if (gitOid.isEmpty() && sha256.isEmpty()) {
            throw new IllegalArgumentException("neither a git object id nor a sha256");
        }
        if (sha256.isPresent() && !SHA256.matcher(sha256.get()).matches()) {
            throw new IllegalArgumentException("not a sha256");
        }
    }

    /**
     * A relative path of plain segments: no empty, {@code .} or {@code ..} segment, no leading slash,
     * no backslash, drive letter or control character. The Hub never lists anything else, so a
     * listing that does is refused whole.
     */
    static void checkPath(String path) {
        if (path == null || path.isEmpty() || path.length() > 1024) {
            throw new IllegalArgumentException("bad path length");
        }
        for (String segment : path.split("/", -1)) {
            if (!SEGMENT.matcher(segment).matches() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("bad path segment");
            }
        }
    }

    /** The file's name under {@code blobs/}: the LFS sha256, else the git blob id (huggingface_hub's etag). */
    String blobName() {
        return sha256.or(() -> gitOid).orElseThrow();
    }

    /** The last segment of the path. */
    String fileName() {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** The folder part, {@code ""} at the top. */
    String folder() {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash + 1);
    }
}
