package dev.serveml.artifacts;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * Safe extraction of model archives ({@code .zip}, {@code .tar.gz}): entries may not escape the
 * target directory, links and devices are refused, and the total size and entry count are
 * bounded so a small archive cannot fill the disk.
 */
public final class Archives {
    private static final int MAX_ENTRIES = 10_000;

    private Archives() {
    }

    public static boolean isArchive(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        return lower.endsWith(".zip") || lower.endsWith(".tar.gz") || lower.endsWith(".tgz");
    }

    /** {@code zip} or {@code tar.gz} for an archive's file name, the kinds {@link #extract} takes; null for any other. */
    public static String kind(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".zip")) {
            return "zip";
        }
        return lower.endsWith(".tar.gz") || lower.endsWith(".tgz") ? "tar.gz" : null;
    }

    /**
     * Extracts {@code archive} into the empty directory {@code target}.
     *
     * @param kind     {@code zip} or {@code tar.gz}
     * @param maxBytes the most the extracted files may add up to
     * @throws ProblemException {@code invalid-model} for unsafe or unreadable archives
     */
    public static void extract(Path archive, String kind, Path target, long maxBytes) {
        try {
            Files.createDirectories(target);
            if (kind.equals("zip")) {
                extractZip(archive, target, maxBytes);
            } else {
                extractTar(archive, target, maxBytes);
            }
        } catch (IOException e) {
            if (StorageFull.causedBy(e)) {
                throw StorageFull.problem("while unpacking the archive", e);
            }
            throw new ProblemException(ProblemType.INVALID_MODEL, "the archive could not be read as " + kind
                    + ": " + e.getMessage());
        }
    }

    /**
     * The names of an archive's entries, in order, without writing anything. A zip's names come
     * from its central directory (nothing is inflated); a tar.gz is decompressed as far as its last
     * entry, at most {@code maxBytes}, so a small bomb cannot keep a thread busy for long.
     * {@link #extract} reads the entries themselves: a caller deciding from these names still
     * checks what extraction produced.
     *
     * @param kind     {@code zip} or {@code tar.gz}
     * @param max      the most names read; more is the {@code invalid-model} problem
     * @param maxBytes the most a tar.gz may decompress to while it is listed
     * @throws ProblemException {@code invalid-model} for unreadable or oversized archives
     */
    public static List<String> entryNames(Path archive, String kind, int max, long maxBytes) {
        List<String> names = new ArrayList<>();
        try {
            if (kind.equals("zip")) {
                try (ZipFile zip = new ZipFile(archive.toFile())) {
                    for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                        add(names, e.nextElement().getName(), max);
                    }
                }
            } else {
                try (TarArchiveInputStream tar = new TarArchiveInputStream(new BoundedInput(
                        new GzipCompressorInputStream(new BufferedInputStream(Files.newInputStream(archive))),
                        maxBytes))) {
                    for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                        add(names, e.getName(), max);
                    }
                }
            }
        } catch (IOException e) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the archive could not be read as " + kind
                    + ": " + e.getMessage());
        }
        return names;
    }

    /** A stream that refuses to give more than {@code limit} bytes. */
    private static final class BoundedInput extends FilterInputStream {
        private long left;

        BoundedInput(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                take(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                take(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            take(skipped);
            return skipped;
        }

        private void take(long n) {
            left -= n;
            if (left < 0) {
                throw unsafe("it expands past the size limit");
            }
        }
    }

    private static void add(List<String> names, String name, int max) {
        if (names.size() == max) {
            throw unsafe("more than " + max + " entries");
        }
        names.add(name);
    }

    private static void extractZip(Path archive, Path target, long maxBytes) throws IOException {
        long total = 0;
        int count = 0;
        try (ZipInputStream zip = new ZipInputStream(new BufferedInputStream(Files.newInputStream(archive)))) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                if (++count > MAX_ENTRIES) {
                    throw unsafe("more than " + MAX_ENTRIES + " entries");
                }
                total += write(zip, e.getName(), e.isDirectory(), target, maxBytes - total);
            }
        }
        if (count == 0) {
            throw unsafe("no entries (is it a zip file?)");
        }
    }

    private static void extractTar(Path archive, Path target, long maxBytes) throws IOException {
        long total = 0;
        int count = 0;
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(
                new BufferedInputStream(Files.newInputStream(archive))))) {
            for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                if (++count > MAX_ENTRIES) {
                    throw unsafe("more than " + MAX_ENTRIES + " entries");
                }
                if (e.isSymbolicLink() || e.isLink() || e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
                    throw unsafe("entry '" + e.getName() + "' is a link or device; archives may hold files and folders only");
                }
                total += write(tar, e.getName(), e.isDirectory(), target, maxBytes - total);
            }
        }
        if (count == 0) {
            throw unsafe("no entries");
        }
    }

    private static long write(InputStream in, String name, boolean directory, Path target, long budget)
            throws IOException {
        Path path = target.resolve(name).normalize();
        if (name.startsWith("/") || name.contains("\\") || !path.startsWith(target) || path.equals(target) && !directory) {
            throw unsafe("entry '" + name + "' would be written outside the model directory");
        }
        if (directory) {
            Files.createDirectories(path);
            return 0;
        }
        Files.createDirectories(path.getParent());
        long written = 0;
        byte[] buffer = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(path)) {
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                written += n;
                if (written > budget) {
                    throw unsafe("it expands past the size limit");
                }
                out.write(buffer, 0, n);
            }
        }
        return written;
    }

    private static ProblemException unsafe(String why) {
        return new ProblemException(ProblemType.INVALID_MODEL, "the archive was refused: " + why);
    }
}
