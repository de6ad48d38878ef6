package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tenant cannot fill the disk: their models may hold SERVEML_STORAGE_QUOTA_PER_USER bytes of
 * artifacts (deleted versions count, as their files stay); an upload past it is refused with
 * 413 saying how much is used and the limit, and nothing of it is kept. The same file again
 * costs nothing (artifacts are content-addressed); administrators have no quota. Temporary
 * upload files a killed server left are removed at the next start.
 */
class StorageQuotaIT {
    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        // iris_rf.onnx is 7347 bytes and iris_zipmap.onnx 7446 (14793 together); add_fixed.onnx 122 more does not fit.
        server = TestServer.start(dataDir, Map.of("SERVEML_STORAGE_QUOTA_PER_USER", "14800"));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void anUploadPastTheQuotaIsRefusedWith413SayingWhatIsUsedAndNothingIsKept() {
        String tenant = server.newUser("quota-tenant");
        assertThat(upload(tenant, "q-first", "a.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(upload(tenant, "q-second", "b.onnx", fixture("iris_zipmap.onnx")).statusCode()).isEqualTo(201);
        // A deleted version keeps its file, so it still counts.
        assertThat(server.send(HttpRequest.newBuilder(server.uri("/api/v1/models/q-second"))
                .header("Authorization", "Bearer " + tenant).DELETE().build()).statusCode()).isEqualTo(200);
        byte[] third = fixture("add_fixed.onnx");

        JsonNode problem = assertProblem(upload(tenant, "q-third", "c.onnx", third), 413, "storage-quota-exceeded",
                "over your storage quota of 14.5 KiB");

        assertThat(problem.get("detail").asText()).contains("14.4 KiB used", "122 B file", "SERVEML_STORAGE_QUOTA_PER_USER");
        assertProblem(server.send(HttpRequest.newBuilder(server.uri("/api/v1/models/q-third"))
                .header("Authorization", "Bearer " + tenant).GET().build()), 404, "model-not-found", "q-third");
        assertThat(server.artifactNames()).noneMatch(f -> f.startsWith(Fixtures.sha256(third)));
        assertThat(server.leftoverUploads()).isEmpty();
    }

    @Test
    void theSameFileAgainCostsNothingAndAnAdministratorHasNoQuota() {
        String tenant = server.newUser("dedup-tenant");
        assertThat(upload(tenant, "d-one", "a.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(upload(tenant, "d-two", "b.onnx", fixture("iris_zipmap.onnx")).statusCode()).isEqualTo(201);

        HttpResponse<String> again = upload(tenant, "d-one", "a.onnx", fixture("iris_rf.onnx"));
        HttpResponse<String> admin = upload(server.adminKey(), "admin-big", "c.onnx", fixture("add_fixed.onnx"));
        HttpResponse<String> admin2 = upload(server.adminKey(), "admin-big", "d.onnx", fixture("all_types.onnx"));

        assertThat(again.statusCode()).as(again.body()).isEqualTo(201);
        assertThat(json(again).get("version").asInt()).isEqualTo(2);
        assertThat(admin.statusCode()).as(admin.body()).isEqualTo(201);
        assertThat(admin2.statusCode()).as(admin2.body()).isEqualTo(201);
    }

    @Test
    void temporaryUploadFilesLeftByAKilledServerAreRemovedAtTheNextStart() throws Exception {
        Path uploads = dataDir.resolve("tmp/uploads");
        Files.createDirectories(uploads);
        Path leftover = Files.write(uploads.resolve(UUID.randomUUID() + ".upload"), new byte[64 * 1024]);

        server.restart();

        assertThat(leftover).doesNotExist();
        assertThat(server.get("/api/v1/models").statusCode()).isEqualTo(200);
    }

    static HttpResponse<String> upload(String token, String model, String fileName, byte[] bytes) {
        String boundary = "serveml-" + UUID.randomUUID();
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/models/" + model + "/versions"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", fileName, bytes)))
                .build());
    }
}
