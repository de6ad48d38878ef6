package dev.serveml.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The standard Hugging Face cache, as huggingface_hub lays it out, so either side reuses what the
 * other fetched:
 * <pre>
 * models--org--name/
 *   blobs/&lt;sha256 or git blob id&gt;          the content, once per distinct file
 *   blobs/&lt;...&gt;.incomplete                   a transfer in progress (resumed from its length)
 *   refs/&lt;revision&gt;                          the commit the revision pointed at, no newline
 *   snapshots/&lt;commit&gt;/&lt;path&gt;              a relative symlink to ../../blobs/&lt;...&gt;
 * </pre>
 * Every path built here is checked to stay inside the repository's folder, symlinks resolved.
 * Thread-safe (it holds no state but the root); writers of one blob are kept apart by the client.
 */
final class HubCache {
    private static final Pattern BLOB = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");

    private final Path root;

    HubCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    Path repoDir(RepoId repo) {
        return root.resolve(repo.cacheFolder());
    }

    Path blob(RepoId repo, RepoFile file) {
        return repoDir(repo).resolve("blobs").resolve(file.blobName());
    }

    Path incomplete(RepoId repo, RepoFile file) {
        return repoDir(repo).resolve("blobs").resolve(file.blobName() + ".incomplete");
    }

    Path snapshotDir(RepoId repo, String commit) {
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    /** The commit a revision pointed at when last resolved, or the revision itself when it is a commit. */
    Optional<String> commitOf(RepoId repo, Revision revision) {
        if (revision.isCommit()) {
            return Optional.of(revision.name());
        }
        Path ref = repoDir(repo).resolve("refs").resolve(revision.name());
        try {
            if (!Files.isRegularFile(ref, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            String commit = Files.readString(ref, StandardCharsets.US_ASCII).trim();
            return Revision.isCommit(commit) ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records what a revision resolved to, atomically (a reader never sees half a commit). */
    void writeRef(RepoId repo, Revision revision, String commit) throws IOException {
        if (revision.name().equals(commit) || commitOf(repo, revision).filter(commit::equals).isPresent()) {
            return;
        }
        Path ref = repoDir(repo).resolve("refs").resolve(revision.name());
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.US_ASCII);
        Files.move(tmp, ref, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Makes {@code snapshots/<commit>/<path>} a relative link to the file's blob, replacing whatever
     * link was there. Refuses, before writing, a place that symlinks would move out of the snapshot.
     */
    Path link(RepoId repo, String commit, RepoFile file) throws IOException {
        Path snapshot = snapshotDir(repo, commit);
        Path target = snapshot.resolve(file.path()).normalize();
        if (!target.startsWith(snapshot)) {
            throw new IllegalArgumentException("path leaves the snapshot");
        }
        Files.createDirectories(target.getParent());
        Path realSnapshot = snapshot.toRealPath();
        if (!target.getParent().toRealPath().startsWith(realSnapshot)) {
            throw new IllegalArgumentException("path leaves the snapshot through a symlink");
        }
        Path relative = target.getParent().relativize(blob(repo, file));
        if (Files.isSymbolicLink(target) && Files.readSymbolicLink(target).equals(relative)) {
            return target;
        }
        Path tmp = target.resolveSibling(target.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
        Files.createSymbolicLink(tmp, relative);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    /** Whether the snapshot already holds this file as a link to its complete blob. */
    boolean holds(RepoId repo, String commit, RepoFile file) {
        Path blob = blob(repo, file);
        Path linked = snapshotDir(repo, commit).resolve(file.path());
        try {
            return Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS) && Files.size(blob) == file.size()
                    && Files.isSymbolicLink(linked) && linked.toRealPath().equals(blob.toRealPath());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The files of a cached snapshot, as a listing: for offline use, where the Hub cannot be asked.
     * Only links (or files) that resolve to a blob of this repository count; anything pointing
     * elsewhere is left out, so a tampered cache cannot hand over another file of the machine.
     */
    Optional<List<RepoFile>> cachedListing(RepoId repo, String commit) {
        Path snapshot = snapshotDir(repo, commit);
        if (!Files.isDirectory(snapshot)) {
            return Optional.empty();
        }
        try (Stream<Path> walk = Files.walk(snapshot)) {
            Path blobs = repoDir(repo).resolve("blobs").toRealPath();
            List<RepoFile> files = new ArrayList<>();
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                Path real = p.toRealPath();
                String name = real.getFileName().toString();
                if (!real.getParent().equals(blobs) || !BLOB.matcher(name).matches()) {
                    continue;
                }
                String path = snapshot.relativize(p).toString().replace('\\', '/');
                try {
                    files.add(new RepoFile(path, Files.size(real),
                            name.length() == 40 ? Optional.of(name) : Optional.empty(),
                            name.length() == 64 ? Optional.of(name) : Optional.empty()));
                } catch (IllegalArgumentException e) {
                    // a name the Hub could not have listed: not ours to serve
                }
            }
            return Optional.of(files);
        } catch (IOException e) {
            return Optional.empty();
        } catch (UncheckedIOException e) {
            return Optional.empty();
        }
    }

    /**
     * Records whether the Hub, asked online, called the repository public (neither private nor gated):
     * {@code .serveml/public} in its folder, which huggingface_hub ignores. Removed when it is not (any
     * more), so a repository made private since is not read from the cache for tenants.
     */
    void recordPublic(RepoId repo, boolean isPublic) throws IOException {
        Path marker = repoDir(repo).resolve(".serveml").resolve("public");
        if (!isPublic) {
            Files.deleteIfExists(marker);
            return;
        }
        if (Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.createDirectories(marker.getParent());
        try {
            Files.writeString(marker, repo.id(), StandardCharsets.US_ASCII);
        } catch (FileAlreadyExistsException e) {
            // a racing writer recorded the same
        }
    }

    /** Whether ServeML recorded the repository as public (see {@link #recordPublic}). */
    boolean recordedPublic(RepoId repo) {
        return Files.isRegularFile(repoDir(repo).resolve(".serveml").resolve("public"), LinkOption.NOFOLLOW_LINKS);
    }

    /** An exclusive lock on one blob across processes; closing it releases it. */
    record BlobLock(FileChannel channel) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /**
     * Takes the lock huggingface_hub takes for a blob, {@code .locks/models--org--name/<blob>.lock}
     * under the cache root, waiting while another process holds it. Callers in one JVM must keep
     * themselves apart first (a second lock of the same file from one JVM throws).
     */
    BlobLock lock(RepoId repo, RepoFile file) throws IOException {
        Path lockFile = root.resolve(".locks").resolve(repo.cacheFolder()).resolve(file.blobName() + ".lock");
        Files.createDirectories(lockFile.getParent());
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            channel.lock();
            return new BlobLock(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Creates the blobs folder, tolerating a racing creator. */
    Path blobsDir(RepoId repo) throws IOException {
        Path blobs = repoDir(repo).resolve("blobs");
        try {
            Files.createDirectories(blobs);
        } catch (FileAlreadyExistsException e) {
            // a file where the folder should be: the move below will fail clearly
        }
        return blobs;
    }
}
