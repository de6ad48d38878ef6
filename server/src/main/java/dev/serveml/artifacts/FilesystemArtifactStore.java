package dev.serveml.artifacts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Artifacts as read-only files under one root directory. */
public final class FilesystemArtifactStore implements ArtifactStore {
    private final Path root;

    public FilesystemArtifactStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(this.root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create artifact directory " + root, e);
        }
    }

    @Override
    public boolean put(String key, Path staged) {
        Path target = resolve(key);
        try {
            Files.createDirectories(target.getParent());
            if (Files.exists(target)) {
                Files.deleteIfExists(staged);
                return false;
            }
            try {
                Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                // Another file system (artifacts on their own disk): copy, and never leave half a copy.
                Path temp = target.resolveSibling(target.getFileName() + ".part");
                try {
                    Files.copy(staged, temp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(temp);
                }
                Files.deleteIfExists(staged);
            }
            target.toFile().setReadOnly();
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            if (StorageFull.causedBy(e)) {
                throw StorageFull.problem("while storing the model file", e);
            }
            throw new UncheckedIOException("cannot store artifact " + key, e);
        }
    }

    @Override
    public Path localPath(String key) {
        return resolve(key);
    }

    @Override
    public void delete(String key) {
        try {
            Files.deleteIfExists(resolve(key));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete artifact " + key, e);
        }
    }

    @Override
    public boolean exists(String key) {
        return Files.exists(resolve(key));
    }

    @Override
    public void deleteAll(String prefix) {
        if (!prefix.endsWith("/") || prefix.length() < 2) {
            throw new IllegalArgumentException("a prefix to delete names a folder: " + prefix);
        }
        Path folder = resolve(prefix);
        if (folder.equals(root) || !Files.isDirectory(folder)) {
            return;
        }
        try (java.util.stream.Stream<Path> walk = Files.walk(folder)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete artifacts under " + prefix, e);
        }
    }

    private Path resolve(String key) {
        Path path = root.resolve(key).normalize();
        if (!path.startsWith(root)) {
            throw new IllegalArgumentException("artifact key escapes the store: " + key);
        }
        return path;
    }
}
