package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Upload, versioning, lifecycle and soft deletion over real HTTP, with every bad upload refused cleanly. */
class ModelRegistryIT {
    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir, Map.of("SERVEML_MAX_UPLOAD_SIZE", "64KB"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void uploadingAnOnnxModelCreatesVersionOneWithItsSignatureAndDigest() throws Exception {
        byte[] bytes = fixture("iris_rf.onnx");
        HttpResponse<String> r = server.upload("iris-upload", "iris_rf.onnx", bytes);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(r.headers().firstValue("Location")).hasValue("/api/v1/models/iris-upload/versions/1");
        JsonNode v = json(r);
        assertThat(v.get("model").asText()).isEqualTo("iris-upload");
        assertThat(v.get("version").asInt()).isEqualTo(1);
        assertThat(v.get("state").asText()).isEqualTo("active");
        assertThat(v.get("format").asText()).isEqualTo("onnx");
        assertThat(v.get("runtime").asText()).isEqualTo("onnx");
        assertThat(v.get("sha256").asText()).isEqualTo(sha256(bytes));
        assertThat(v.get("size_bytes").asLong()).isEqualTo(bytes.length);
        assertThat(v.get("file_name").asText()).isEqualTo("iris_rf.onnx");
        assertThat(v.get("loaded").asBoolean()).isTrue();
        assertThat(v.get("deleted_at").isNull()).isTrue();
        assertThat(v.get("signature")).isEqualTo(json("""
                {"inputs":[{"name":"X","datatype":"FP32","shape":[-1,4],"kind":"tensor","columns":[]}],
                 "outputs":[{"name":"label","datatype":"INT64","shape":[-1],"kind":"tensor","columns":[]},
                            {"name":"probabilities","datatype":"FP32","shape":[-1,3],"kind":"tensor","columns":[]}]}"""));
        assertThat(Files.exists(dataDir.resolve("artifacts/sha256/" + sha256(bytes).substring(0, 2) + "/"
                + sha256(bytes) + ".onnx"))).isTrue();
    }

    @Test
    void eachUploadGetsTheNextNumberAndTheListsShowThem() {
        server.upload("numbered", "a.onnx", fixture("iris_rf.onnx"));
        HttpResponse<String> second = server.upload("numbered", "b.onnx", fixture("iris_zipmap.onnx"));
        assertThat(json(second).get("version").asInt()).isEqualTo(2);

        JsonNode versions = json(server.get("/api/v1/models/numbered/versions"));
        assertThat(versions.get("count").asInt()).isEqualTo(2);
        assertThat(versions.get("items").findValuesAsText("file_name")).containsExactly("a.onnx", "b.onnx");

        JsonNode model = json(server.get("/api/v1/models/numbered"));
        assertThat(model.get("name").asText()).isEqualTo("numbered");
        assertThat(model.get("latest_version").asInt()).isEqualTo(2);
        assertThat(model.get("version_count").asInt()).isEqualTo(2);

        JsonNode models = json(server.get("/api/v1/models"));
        assertThat(models.get("items").findValuesAsText("name")).contains("numbered");

        JsonNode one = json(server.get("/api/v1/models/numbered/versions/2"));
        assertThat(one.get("file_name").asText()).isEqualTo("b.onnx");
    }

    @Test
    void lifecycleStatesDecideWhichVersionServes() {
        server.upload("states", "v1.onnx", fixture("iris_rf.onnx"));
        server.upload("states", "v2.onnx", fixture("iris_rf.onnx"));
        String predict = "/api/v1/models/states/predict";
        String row = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";
        assertThat(json(server.postJson(predict, row)).get("version").asInt()).isEqualTo(2);

        HttpResponse<String> deprecated = server.patchJson("/api/v1/models/states/versions/2", "{\"state\": \"deprecated\"}");
        assertThat(json(deprecated).get("state").asText()).isEqualTo("deprecated");
        assertThat(json(server.postJson(predict, row)).get("version").asInt()).isEqualTo(1);
        // Deprecated still answers when named explicitly.
        assertThat(server.postJson("/api/v1/models/states/versions/2/predict", row).statusCode()).isEqualTo(200);

        server.patchJson("/api/v1/models/states/versions/2", "{\"state\": \"archived\"}");
        assertProblem(server.postJson("/api/v1/models/states/versions/2/predict", row), 409,
                "version-not-servable", "archived");

        server.patchJson("/api/v1/models/states/versions/1", "{\"state\": \"archived\"}");
        assertProblem(server.postJson(predict, row), 409, "no-active-version", "no active version");

        assertProblem(server.patchJson("/api/v1/models/states/versions/1", "{\"state\": \"retired\"}"), 422,
                "invalid-state-change", "'retired'");
        assertProblem(server.patchJson("/api/v1/models/states/versions/1", "{\"status\": \"active\"}"), 400,
                "invalid-request", "state");
        server.patchJson("/api/v1/models/states/versions/1", "{\"state\": \"active\"}");
        assertThat(json(server.postJson(predict, row)).get("version").asInt()).isEqualTo(1);
    }

    @Test
    void deletingIsSoftAndRestorable() {
        server.upload("soft", "v1.onnx", fixture("iris_rf.onnx"));
        server.upload("soft", "v2.onnx", fixture("iris_rf.onnx"));
        String row = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";

        HttpResponse<String> deleted = server.delete("/api/v1/models/soft/versions/2");
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(json(deleted).get("deleted_at").isNull()).isFalse();
        assertProblem(server.get("/api/v1/models/soft/versions/2"), 404, "version-not-found", "no version 2");
        assertThat(json(server.postJson("/api/v1/models/soft/predict", row)).get("version").asInt()).isEqualTo(1);
        assertThat(json(server.get("/api/v1/models/soft/versions")).get("count").asInt()).isEqualTo(1);
        assertThat(json(server.get("/api/v1/models/soft/versions?include_deleted=true")).get("count").asInt()).isEqualTo(2);

        assertThat(server.post("/api/v1/models/soft/versions/2/restore", null, new byte[0]).statusCode()).isEqualTo(200);
        assertThat(json(server.postJson("/api/v1/models/soft/predict", row)).get("version").asInt()).isEqualTo(2);
        assertProblem(server.post("/api/v1/models/soft/versions/2/restore", null, new byte[0]), 409, "not-deleted",
                "not deleted");

        assertThat(server.delete("/api/v1/models/soft").statusCode()).isEqualTo(200);
        assertProblem(server.get("/api/v1/models/soft"), 404, "model-not-found", "'soft'");
        assertProblem(server.postJson("/api/v1/models/soft/predict", row), 404, "model-not-found", "'soft'");
        assertThat(json(server.get("/api/v1/models")).get("items").findValuesAsText("name")).doesNotContain("soft");
        assertThat(json(server.get("/api/v1/models?include_deleted=true")).get("items").findValuesAsText("name"))
                .contains("soft");
        assertProblem(server.upload("soft", "v3.onnx", fixture("iris_rf.onnx")), 409, "model-deleted", "restore");

        assertThat(server.post("/api/v1/models/soft/restore", null, new byte[0]).statusCode()).isEqualTo(200);
        assertThat(json(server.postJson("/api/v1/models/soft/predict", row)).get("version").asInt()).isEqualTo(2);
    }

    @Test
    void corruptOrForeignFilesAreRefusedAndLeaveNothingBehind() throws IOException {
        List<Path> before = artifacts();
        assertProblem(server.upload("junk", "model.onnx", fixture("not_a_model.onnx")), 422, "invalid-model",
                "could not load the file as an ONNX model");
        assertProblem(server.upload("junk", "model.onnx", fixture("truncated.onnx")), 422, "invalid-model",
                "ONNX model");
        assertProblem(server.upload("junk", "model.h5", fixture("iris_rf.pkl")), 422, "unsupported-model-format",
                "supported formats: huggingface, onnx, pickle, joblib, xgboost, torchscript, zip, tar.gz");
        assertProblem(server.upload("junk", "empty.onnx", new byte[0]), 400, "empty-upload", "empty");
        assertProblem(server.upload("bad%20name!", "model.onnx", fixture("iris_rf.onnx")), 422, "invalid-name",
                "letters, digits");

        assertThat(artifacts()).isEqualTo(before);
        assertThat(uploadsLeft()).isEmpty();
        // The model row may exist only if a version was registered: none was.
        assertProblem(server.get("/api/v1/models/junk"), 404, "model-not-found", "junk");
    }

    @Test
    void uploadsThatAreNotMultipartOrLackTheFilePartAreRefused() {
        assertProblem(server.post("/api/v1/models/m/versions", "application/octet-stream", fixture("iris_rf.onnx")),
                415, "unsupported-media-type", "multipart/form-data");
        String boundary = "b0undary";
        byte[] wrongPart = TestServer.multipart(boundary, "model", "iris.onnx", fixture("iris_rf.onnx"));
        assertProblem(server.post("/api/v1/models/m/versions", "multipart/form-data; boundary=" + boundary, wrongPart),
                400, "missing-file", "'file'");
    }

    @Test
    void anUploadOverTheLimitIs413AndNothingIsKept() throws IOException {
        byte[] big = new byte[200 * 1024];
        HttpResponse<String> r = server.upload("huge", "huge.onnx", big);
        assertProblem(r, 413, "payload-too-large", "SERVEML_MAX_UPLOAD_SIZE");
        assertThat(uploadsLeft()).isEmpty();
        assertProblem(server.get("/api/v1/models/huge"), 404, "model-not-found", "huge");
    }

    @Test
    void unknownModelsAndVersionsAre404() {
        assertProblem(server.get("/api/v1/models/nope"), 404, "model-not-found", "'nope'");
        server.upload("known", "k.onnx", fixture("iris_rf.onnx"));
        assertProblem(server.get("/api/v1/models/known/versions/9"), 404, "version-not-found", "no version 9");
        assertProblem(server.get("/api/v1/models/known/versions/abc"), 404, "version-not-found", "'abc'");
        assertProblem(server.get("/api/v1/nothing-here"), 404, "not-found", "openapi");
        assertProblem(server.send(java.net.http.HttpRequest.newBuilder(server.uri("/api/v1/models"))
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build()), 405, "method-not-allowed",
                "method");
    }

    private static List<Path> artifacts() throws IOException {
        Path root = dataDir.resolve("artifacts");
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static List<Path> uploadsLeft() throws IOException {
        Path dir = dataDir.resolve("tmp/uploads");
        // Deletion of an aborted upload is asynchronous: poll for it; what is left after the limit is
        // returned for the caller's assertion to show.
        try {
            return Poll.until(() -> list(dir), List::isEmpty, Duration.ofSeconds(1), "aborted uploads to be deleted");
        } catch (AssertionError stillThere) {
            return list(dir);
        }
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
