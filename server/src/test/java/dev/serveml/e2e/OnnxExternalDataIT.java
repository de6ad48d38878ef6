package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Issue 11 #1: an ONNX file whose tensors keep their data "elsewhere" must not read the server's
 * files. Each attack is uploaded as a tenant would; the legitimate layout (Optimum's
 * {@code model.onnx} + {@code model.onnx_data} in one archive) must keep working.
 */
class OnnxExternalDataIT {
    @TempDir
    static Path dataDir;
    static TestServer server;
    static String secret;

    @BeforeAll
    static void start() throws IOException {
        server = TestServer.start(dataDir);
        secret = Files.readString(dataDir.resolve("secrets").resolve("jwt.key")).strip();
        server.useCredential(server.newUser("mallory"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "external_secret.onnx    | initializer 'stolen'",
            "external_artifacts.onnx | initializer 'stolen'",
            "external_absolute.onnx  | initializer 'passwd'",
            "external_constant.onnx  | tensor 'stolen_const' in attribute 'value' of node 'leak' (Constant)",
            "external_subgraph.onnx  | tensor 'stolen_then' in attribute 'value' of node 'then_leak' (Constant) in "
                    + "the subgraph of attribute 'then_branch' of node 'branch' (If)",
            "external_sparse.onnx    | sparse initializer 'stolen_values'",
            "external_function.onnx  | in function 'Leak'",
            "external_missing.onnx   | initializer 'weights'",
    })
    void anOnnxFileWhoseTensorsReadFilesOutsideTheUploadIsRefusedAndLeavesNothing(String fixture, String tensor) {
        String name = fixture.replace(".onnx", "").replace('_', '-');
        Set<Path> before = files(dataDir);

        HttpResponse<String> r = server.upload(name, "model.onnx", fixture(fixture));

        JsonNode problem = assertProblem(r, 422, "invalid-model", tensor);
        assertThat(problem.get("detail").asText()).contains("External data may only name files uploaded with the model");
        assertThat(r.body()).doesNotContain(secret.substring(0, 16)).doesNotContain("root:");
        assertThat(server.get("/api/v1/models/" + name).statusCode()).isEqualTo(404);
        assertThat(files(dataDir)).as("no artifact, staged upload or load directory is left").isEqualTo(before);
    }

    @Test
    void anArchiveWhoseDataFileIsASymbolicLinkToTheSystemIsRefused() {
        Set<Path> before = files(dataDir);

        HttpResponse<String> r = server.upload("linked", "model.tar.gz", fixture("external_symlink.tar.gz"));

        assertProblem(r, 422, "invalid-model", "link");
        assertThat(r.body()).doesNotContain("root:");
        assertThat(server.get("/api/v1/models/linked").statusCode()).isEqualTo(404);
        assertThat(files(dataDir)).isEqualTo(before);
    }

    @Test
    void optimumsModelAndDataFileInOneZipUploadAndPredictTheRightNumbers() {
        HttpResponse<String> r = server.upload("optimum", "model.zip", fixture("external_ok.zip"));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode version = json(r);
        assertThat(version.get("runtime").asText()).isEqualTo("onnx");
        assertThat(version.get("format").asText()).isEqualTo("onnx");
        assertThat(version.get("signature").get("inputs").get(0).get("name").asText()).isEqualTo("x");
        assertPredicts("optimum");
        assertThat(loadDirectories()).as("each load sees only its own model's files")
                .allSatisfy(dir -> assertThat(names(dir)).isSubsetOf("model.onnx", "model.onnx_data"));
    }

    @Test
    void theSameFilesInATarGzUnderAFolderServeOverTheV2ProtocolAndAfterARestart() {
        HttpResponse<String> r = server.upload("optimum-tar", "exported.tar.gz", fixture("external_ok.tar.gz"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);

        HttpResponse<String> infer = server.postJson("/v2/models/optimum-tar/infer",
                "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}");
        assertThat(infer.statusCode()).as(infer.body()).isEqualTo(200);
        assertThat(json(infer).get("outputs").get(0).get("data")).isEqualTo(json("[60.5,69.0,82.0]"));

        server.restart(); // now loaded from the artifact store, not the upload
        assertPredicts("optimum-tar");
    }

    @Test
    void aPlainOnnxFileStillUploadsAndServes() {
        // Which archives stay Python's is OnnxModelRuntimeTest's; uploading one here would build its environment.
        assertThat(server.upload("iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(json(server.postJson("/api/v1/models/iris/predict", "{\"features\": [5.1, 3.5, 1.4, 0.2]}"))
                .get("predictions").get(0).get("label").asLong()).isZero();
    }

    private static void assertPredicts(String model) {
        HttpResponse<String> r = server.postJson("/api/v1/models/" + model + "/predict",
                "{\"instances\": [[1, 2, 3, 4], [0, 0, 0, 1]]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode p = json(r).get("predictions");
        // y = x W + b with W[i][j] = 3i + j and b = [0.5, -1, 2] (make_fixtures.py)
        double[][] expected = {{60.5, 69, 82}, {9.5, 9, 13}};
        for (int row = 0; row < 2; row++) {
            for (int j = 0; j < 3; j++) {
                assertThat(p.get(row).get("y").get(j).asDouble()).isCloseTo(expected[row][j], within(1e-4));
            }
        }
    }

    private static List<Path> loadDirectories() {
        try (Stream<Path> dirs = Files.list(dataDir.resolve("onnx").resolve("run"))) {
            return dirs.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Set<String> names(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every file ServeML keeps outside PostgreSQL's own directory and its logs. */
    static Set<Path> files(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> !p.startsWith(root.resolve("postgres")) && !p.startsWith(root.resolve("logs")))
                    .filter(Files::isRegularFile).collect(Collectors.toSet());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
