package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.config.ConfigLoader;
import dev.serveml.hub.FakeHub;
import dev.serveml.server.ServemlServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A full disk is said to be a full disk. Upload staging ({@code tmp}) and the artifacts are on
 * real, small tmpfs mounts here: an upload larger than the free space, or a model whose file
 * does not fit among the artifacts, is answered 507 {@code storage-full} naming "the data
 * directory" (never its path), and nothing of it is left. (The server once wrote a truncated
 * file without noticing and told the tenant "pickle data was truncated".) Needs root to mount,
 * as CI runs.
 */
class DiskFullIT {
    @TempDir
    static Path dataDir;
    static TestServer server;
    static Path staging;
    static Path artifacts;
    static Path python;
    static Path hubCache;
    static FakeHub hub;

    @BeforeAll
    static void start() throws Exception {
        SystemRequirements.require("root".equals(System.getProperty("user.name")),
                "mounting a tmpfs needs root (CI runs as root)");
        staging = Files.createDirectories(dataDir.resolve("tmp"));
        artifacts = Files.createDirectories(dataDir.resolve("artifacts"));
        python = Files.createDirectories(dataDir.resolve("python")); // where Python model archives are unpacked
        hubCache = Files.createDirectories(dataDir.resolve("hf"));
        // 100 KiB: the fixture repository's files (~160 KiB) do not fit
        SystemRequirements.require(mount(staging, "20m") && mount(artifacts, "1m") && mount(python, "4m")
                        && mount(hubCache, "100k"), "'mount -t tmpfs' is not permitted here");
        hub = new FakeHub();
        server = TestServer.start(dataDir, Map.of("SERVEML_HF_ENDPOINT", hub.endpoint().toString(),
                "SERVEML_HF_CACHE", hubCache.toString()));
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (hub != null) {
            hub.close();
        }
        for (Path mounted : new Path[]{staging, artifacts, python, hubCache}) {
            if (mounted != null) {
                run("umount", "-l", mounted.toString());
            }
        }
    }

    @Test
    void aFirstStartOnATooSmallDiskSaysHowMuchSpaceItNeeds() throws Exception {
        Path small = Files.createDirectories(dataDir.resolve("small-disk"));
        assertThat(mount(small, "64m")).isTrue();
        try {
            Map<String, String> env = Map.of("SERVEML_DATA_DIR", small.toString(), "SERVEML_HTTP_PORT", "0",
                    "SERVEML_HTTP_HOST", "127.0.0.1");
            assertThatThrownBy(() -> ServemlServer.start(ConfigLoader.load(env)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("MB free; ServeML needs at least 160 MB there for its first start")
                    .hasMessageContaining("SERVEML_DATA_DIR");
            try (Stream<Path> left = Files.list(small)) {
                assertThat(left.map(p -> p.getFileName().toString()).toList()).doesNotContain("postgres");
            }
        } finally {
            run("umount", "-l", small.toString());
        }
    }

    @Test
    void anUploadLargerThanTheFreeSpaceIsAnswered507AndNothingIsLeft() throws Exception {
        byte[] big = new byte[30 << 20]; // 30 MiB into a 20 MiB tmpfs

        HttpResponse<String> r = server.upload("too-big", "big.onnx", big);

        JsonNode problem = assertProblem(r, 507, "storage-full", "the data directory is full");
        assertThat(problem.get("detail").asText()).contains("receiving the upload").doesNotContain(dataDir.toString());
        assertThat(problem.get("retryable").asBoolean()).isFalse();
        awaitNoLeftoverUploads();
        assertThat(server.get("/api/v1/models/too-big").statusCode()).isEqualTo(404);
        HttpResponse<String> fits = server.upload("fits", "iris.onnx", fixture("iris_rf.onnx"));
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(201);
    }

    @Test
    void aModelWhoseFileDoesNotFitAmongTheArtifactsIsAnswered507AndNothingIsLeft() throws Exception {
        Path filler = artifacts.resolve("filler");
        fill(filler, 2048);
        try {
            byte[] model = fixture("iris_zipmap.onnx");
            assertThat(Files.getFileStore(artifacts).getUsableSpace()).isLessThan(model.length);

            HttpResponse<String> r = server.upload("no-room", "iris.onnx", model);

            JsonNode problem = assertProblem(r, 507, "storage-full", "the data directory is full");
            assertThat(problem.get("detail").asText()).contains("storing the model file");
            assertThat(server.get("/api/v1/models/no-room").statusCode()).isEqualTo(404);
            assertThat(server.artifactNames()).noneMatch(f -> f.startsWith(Fixtures.sha256(model)))
                    .noneMatch(f -> f.endsWith(".part"));
            awaitNoLeftoverUploads();
        } finally {
            Files.deleteIfExists(filler);
        }
        HttpResponse<String> fits = server.upload("no-room", "iris.onnx", fixture("iris_zipmap.onnx"));
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(201);
    }

    @Test
    void anArchiveThatDoesNotFitWhenUnpackedIsAnswered507AndNothingIsLeft() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        String handler = """
                import numpy as np
                SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                             "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
                def load(model_dir):
                    pass
                def predict(inputs):
                    return {"y": np.asarray(inputs["x"], dtype=np.float64) + 1}
                """;
        // 8 MiB of zeros compress to a few KiB; unpacked they do not fit the 4 MiB tmpfs.
        byte[] archive = Fixtures.zip(java.util.Map.of("handler.py", handler, "weights.bin",
                "\0".repeat(8 << 20)));
        assertThat(archive.length).isLessThan(1 << 20);

        HttpResponse<String> r = server.upload("unpacks-too-big", "model.zip", archive);

        JsonNode problem = assertProblem(r, 507, "storage-full", "the data directory is full");
        assertThat(problem.get("detail").asText()).contains("unpacking the archive");
        assertThat(server.get("/api/v1/models/unpacks-too-big").statusCode()).isEqualTo(404);
        try (Stream<Path> all = Files.walk(python.resolve("run"))) {
            // run/sandbox holds the sandbox's own files (seccomp program, passwd), written at start.
            assertThat(all.filter(Files::isRegularFile).filter(p -> !p.startsWith(python.resolve("run/sandbox")))
                    .toList()).as("nothing unpacked is left").isEmpty();
        }
        awaitNoLeftoverUploads();
        HttpResponse<String> fits = server.upload("unpacks-fine", "model.zip",
                Fixtures.zip(java.util.Map.of("handler.py", handler)));
        assertThat(fits.statusCode()).as(fits.body()).isEqualTo(201);
    }

    /** Writes until at most {@code leave} bytes are free. */
    @Test
    void aHubImportWhoseFilesDoNotFitTheCacheFailsStorageFullAndRegistersNothing() throws Exception {
        hub.fixture("acme/too-big", "3333333333333333333333333333333333333333", "bert-tiny-sst2");
        HttpResponse<String> started = server.postJson("/api/v1/models/hub-too-big/versions",
                "{\"source\": \"hf://acme/too-big\"}");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String view = TestServer.json(started).get("id").asText();
        JsonNode end = Poll.until(() -> TestServer.json(server.get("/api/v1/models/hub-too-big/imports/" + view)),
                v -> v.get("phase").asText().equals("failed") || v.get("phase").asText().equals("ready"),
                Duration.ofSeconds(60), "the import to end");

        assertThat(end.get("phase").asText()).isEqualTo("failed");
        assertThat(end.at("/problem/code").asText()).isEqualTo("storage-full");
        assertThat(end.at("/problem/detail").asText()).doesNotContain(hubCache.toString());
        assertProblem(server.get("/api/v1/models/hub-too-big"), 404, "model-not-found", "hub-too-big");
        try (Stream<Path> left = Files.walk(hubCache)) {
            assertThat(left.filter(f -> f.getFileName().toString().endsWith(".incomplete")).toList())
                    .as("no partial blob").isEmpty();
        }
        awaitNoLeftoverUploads();
    }

    private static void fill(Path file, long leave) throws IOException {
        byte[] chunk = new byte[4096];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (Files.getFileStore(file.getParent()).getUsableSpace() > leave) {
                out.write(chunk);
                out.flush();
            }
        } catch (IOException e) {
            if (!e.getMessage().contains("No space left")) {
                throw e;
            }
        }
    }

    /** The temporary file of a failed upload is deleted asynchronously; wait for it a little. */
    private static void awaitNoLeftoverUploads() throws InterruptedException {
        Poll.until(() -> server.leftoverUploads(), List::isEmpty, Duration.ofSeconds(10),
                "the failed upload's temporary file to be deleted");
        try (Stream<Path> all = Files.walk(staging)) {
            List<Path> files = all.filter(Files::isRegularFile).toList();
            assertThat(files).as("nothing left in the staging tmpfs").isEmpty();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean mount(Path dir, String size) throws Exception {
        return run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString());
    }

    private static boolean run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
