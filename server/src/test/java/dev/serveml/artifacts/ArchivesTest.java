package dev.serveml.artifacts;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a tenant's archive may hold: files and folders inside the model directory, within a size. */
class ArchivesTest {
    private static final long MB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aZipAndATarGzOfFilesAndFoldersAreExtractedWhole() throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("handler.py", "def predict(x): return x\n");
        files.put("weights/w.bin", "0123");
        for (String kind : new String[]{"zip", "tar.gz"}) {
            Path target = dir.resolve("out-" + kind);
            Archives.extract(archive(kind, files), kind, target, MB);
            assertThat(Files.readString(target.resolve("handler.py"))).isEqualTo("def predict(x): return x\n");
            assertThat(Files.readString(target.resolve("weights/w.bin"))).isEqualTo("0123");
        }
    }

    @Test
    void entriesThatWouldEscapeTheModelDirectoryAreRefusedAndNothingIsWrittenOutside() throws IOException {
        for (String name : new String[]{"../escaped.py", "a/../../escaped.py", "/etc/escaped.py", "a\\..\\escaped.py"}) {
            for (String kind : new String[]{"zip", "tar.gz"}) {
                Path target = dir.resolve("t-" + kind + "-" + Integer.toHexString(name.hashCode()));
                Path archive = archive(kind, Map.of(name, "x"));
                assertRefused(() -> Archives.extract(archive, kind, target, MB), "outside the model directory");
            }
        }
        try (Stream<Path> all = Files.walk(dir)) {
            assertThat(all.filter(p -> p.getFileName().toString().equals("escaped.py"))).isEmpty();
        }
    }

    @Test
    void linksAndDevicesInATarAreRefused() throws IOException {
        byte[] linkFlags = {TarArchiveEntry.LF_SYMLINK, TarArchiveEntry.LF_LINK, TarArchiveEntry.LF_CHR,
                TarArchiveEntry.LF_BLK, TarArchiveEntry.LF_FIFO};
        for (byte flag : linkFlags) {
            Path archive = tar("special-" + flag, tar -> {
                TarArchiveEntry e = new TarArchiveEntry("special", flag);
                if (flag == TarArchiveEntry.LF_SYMLINK || flag == TarArchiveEntry.LF_LINK) {
                    e.setLinkName("/etc/passwd");
                }
                put(tar, e, new byte[0]);
            });
            assertRefused(() -> Archives.extract(archive, "tar.gz", dir.resolve("out-" + flag), MB), "link or device");
        }
    }

    @Test
    void anArchiveThatExpandsPastTheSizeLimitIsRefused() throws IOException {
        String big = "a".repeat(64 * 1024);
        for (String kind : new String[]{"zip", "tar.gz"}) {
            Path archive = archive(kind, Map.of("one.bin", big, "two.bin", big));
            assertRefused(() -> Archives.extract(archive, kind, dir.resolve("big-" + kind), 100_000), "size limit");
            Archives.extract(archive, kind, dir.resolve("fits-" + kind), 2 * 64 * 1024);
        }
    }

    @Test
    void anEmptyOrUnreadableArchiveIsAnInvalidModel() throws IOException {
        Path empty = archive("zip", Map.of());
        assertRefused(() -> Archives.extract(empty, "zip", dir.resolve("empty"), MB), "no entries");
        Path text = Files.writeString(dir.resolve("not.tar.gz"), "not an archive");
        assertRefused(() -> Archives.extract(text, "tar.gz", dir.resolve("text"), MB), "could not be read as tar.gz");
    }

    @Test
    void entryNamesListsInOrderWithoutWritingAndRefusesTooManyOrTooLarge() throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("a.py", "a");
        files.put("b/c.txt", "c".repeat(10_000));
        for (String kind : new String[]{"zip", "tar.gz"}) {
            Path archive = archive(kind, files);
            try (Stream<Path> before = Files.list(dir)) {
                long count = before.count();
                assertThat(Archives.entryNames(archive, kind, 10, MB)).containsExactly("a.py", "b/c.txt");
                try (Stream<Path> after = Files.list(dir)) {
                    assertThat(after.count()).as("nothing written").isEqualTo(count);
                }
            }
            assertRefused(() -> Archives.entryNames(archive, kind, 1, MB), "more than 1 entries");
        }
        assertRefused(() -> Archives.entryNames(archive("tar.gz", files), "tar.gz", 10, 5_000), "size limit");
    }

    @Test
    void recognisesArchivesByTheirEnding() {
        assertThat(Archives.isArchive("m.ZIP")).isTrue();
        assertThat(Archives.isArchive("m.tar.gz")).isTrue();
        assertThat(Archives.isArchive("m.tgz")).isTrue();
        assertThat(Archives.isArchive("m.onnx")).isFalse();
        assertThat(Archives.isArchive("m.tar")).isFalse();
    }

    private static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String why) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_MODEL);
            assertThat(e.detail()).contains(why);
        });
    }

    private Path archive(String kind, Map<String, String> files) throws IOException {
        String id = kind + "-" + Integer.toHexString(files.hashCode()) + "-" + System.nanoTime();
        if (kind.equals("zip")) {
            Path zip = dir.resolve(id + ".zip");
            try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
                for (Map.Entry<String, String> f : files.entrySet()) {
                    out.putNextEntry(new ZipEntry(f.getKey()));
                    out.write(f.getValue().getBytes(StandardCharsets.UTF_8));
                    out.closeEntry();
                }
            }
            return zip;
        }
        return tar(id, tar -> files.forEach((name, text) -> {
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            put(tar, e, text.getBytes(StandardCharsets.UTF_8));
        }));
    }

    private Path tar(String id, Consumer<TarArchiveOutputStream> entries) throws IOException {
        Path path = dir.resolve(id + ".tar.gz");
        try (OutputStream file = Files.newOutputStream(path);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(file))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            entries.accept(tar);
        }
        return path;
    }

    private static void put(TarArchiveOutputStream tar, TarArchiveEntry e, byte[] content) {
        try {
            e.setSize(content.length);
            tar.putArchiveEntry(e);
            tar.write(content);
            tar.closeArchiveEntry();
        } catch (IOException x) {
            throw new java.io.UncheckedIOException(x);
        }
    }
}
