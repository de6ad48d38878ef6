package dev.serveml.runtime.onnx;

import dev.serveml.config.RuntimeConfig;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Which uploads the ONNX runtime claims; the Python runtime, asked after it, gets the rest. */
class OnnxModelRuntimeTest {
    private static final byte[] HEAD = new byte[0];

    @TempDir
    Path dir;
    private OnnxModelRuntime runtime;

    @BeforeEach
    void start() {
        runtime = new OnnxModelRuntime(new RuntimeConfig(1, 1, 1000, 16), dir.resolve("run"), 1 << 20);
    }

    @AfterEach
    void stop() {
        runtime.close();
    }

    @Test
    void claimsOnnxFilesByName() {
        assertThat(runtime.detectFormat("Model.ONNX", HEAD, dir.resolve("absent"))).isEqualTo("onnx");
        assertThat(runtime.detectFormat("model.pkl", HEAD, dir.resolve("absent"))).isNull();
    }

    @Test
    void claimsArchivesHoldingExactlyOneOnnxFile() throws IOException {
        assertThat(runtime.detectFormat("model.zip", HEAD, fixture("external_ok.zip"))).isEqualTo("onnx");
        assertThat(runtime.detectFormat("model.tar.gz", HEAD, fixture("external_ok.tar.gz"))).isEqualTo("onnx");
        assertThat(runtime.detectFormat("model.tgz", HEAD, fixture("external_ok.tar.gz"))).isEqualTo("onnx");
        assertThat(runtime.detectFormat("bert.zip", HEAD, zip("bert/model.onnx", "bert/model.onnx_data",
                "bert/config.json", "bert/tokenizer.json"))).isEqualTo("onnx");
    }

    @Test
    void leavesPythonArchivesAndAmbiguousOnesToThePythonRuntime() throws IOException {
        assertThat(runtime.detectFormat("h.zip", HEAD, fixture("python/handler_model.zip"))).isNull();
        assertThat(runtime.detectFormat("h.tar.gz", HEAD, fixture("python/handler_model.tar.gz"))).isNull();
        assertThat(runtime.detectFormat("a.zip", HEAD, zip("model.onnx", "handler.py"))).isNull();
        assertThat(runtime.detectFormat("b.zip", HEAD, zip("model.onnx", "scaler.pkl"))).isNull();
        assertThat(runtime.detectFormat("c.zip", HEAD, zip("encoder.onnx", "decoder.onnx"))).isNull();
        assertThat(runtime.detectFormat("d.zip", HEAD, zip("readme.txt"))).isNull();
        Path junk = Files.write(dir.resolve("junk.zip"), "not a zip at all".getBytes());
        assertThat(runtime.detectFormat("junk.zip", HEAD, junk)).isNull();
    }

    @Test
    void stopsListingATarGzThatDecompressesPastTheExtractionLimit() throws IOException {
        Path bomb = dir.resolve("bomb.tar.gz");
        try (OutputStream file = Files.newOutputStream(bomb);
             TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(file))) {
            TarArchiveEntry zeros = new TarArchiveEntry("zeros.bin");
            zeros.setSize(2 << 20); // the runtime lists at most 1 MB of decompressed tar
            tar.putArchiveEntry(zeros);
            tar.write(new byte[2 << 20]);
            tar.closeArchiveEntry();
            TarArchiveEntry model = new TarArchiveEntry("model.onnx");
            model.setSize(3);
            tar.putArchiveEntry(model);
            tar.write(new byte[]{1, 2, 3});
            tar.closeArchiveEntry();
        }

        assertThat(runtime.detectFormat("bomb.tar.gz", HEAD, bomb)).isNull();
        assertThat(Files.size(bomb)).isLessThan(1 << 20);
    }

    @Test
    void startsWithAnEmptyRunDirectoryAndLeavesOnlyItsOwnLoadsThere() throws IOException {
        Path run = dir.resolve("run");
        Files.writeString(run.resolve("left-by-a-crash"), "x");

        new OnnxModelRuntime(new RuntimeConfig(1, 1, 1000, 16), run, 1 << 20).close();

        try (var files = Files.list(run)) {
            assertThat(files).isEmpty();
        }
    }

    private Path fixture(String name) throws IOException {
        Path out = dir.resolve(name.replace('/', '_'));
        try (InputStream in = OnnxModelRuntimeTest.class.getResourceAsStream("/fixtures/" + name)) {
            Files.copy(in, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    private Path zip(String... entries) throws IOException {
        Path out = Files.createTempFile(dir, "upload", ".zip");
        try (OutputStream file = Files.newOutputStream(out); ZipOutputStream zip = new ZipOutputStream(file)) {
            for (String entry : entries) {
                zip.putNextEntry(new ZipEntry(entry));
                zip.write(new byte[]{1, 2, 3});
                zip.closeEntry();
            }
        }
        return out;
    }
}
