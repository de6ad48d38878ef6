package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Batch jobs against the server's limits: the upload size, and the retention of finished jobs and files. */
class JobLimitsIT {
    @TempDir
    static Path dataDir;
    static TestServer server;
    static JobClient jobs;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir, Map.of("SERVEML_MAX_UPLOAD_SIZE", "64KB", "SERVEML_JOB_RETENTION", "2s"));
        jobs = new JobClient(server);
        assertThat(server.upload("limits-iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static byte[] csv(int rows) {
        StringBuilder csv = new StringBuilder("id,a,b,c,d\n");
        for (int i = 0; i < rows; i++) {
            csv.append(i).append(",5.1,3.5,1.4,0.2\n");
        }
        return csv.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aFileOverTheUploadLimitIsRefusedWith413AndLeavesNothing() {
        byte[] big = csv(10_000);
        assertThat(big.length).isGreaterThan(64 * 1024);
        assertProblem(jobs.submit("big.csv", big, "{\"model\": \"limits-iris\", \"passthrough\": [\"id\"]}"), 413,
                "payload-too-large", "SERVEML_MAX_UPLOAD_SIZE");
        String boundary = "----b";
        assertProblem(server.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                TestServer.multipart(boundary, "file", "big.csv", big)), 413, "payload-too-large", "SERVEML_MAX_UPLOAD_SIZE");
        assertThat(server.leftoverUploads()).isEmpty();
        assertThat(server.artifactKeys()).noneMatch(n -> n.startsWith("jobs/") || n.startsWith("files/"));
    }

    @Test
    void aTenantsJobFilesAreHeldToTheStorageQuota(@TempDir Path quotaDir) {
        // A server of its own: here files must outlive the 2 s retention of this class's server.
        try (TestServer quota = TestServer.start(quotaDir, Map.of("SERVEML_STORAGE_QUOTA_PER_USER", "100KB"))) {
            assertThat(quota.upload("quota-iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            quota.useCredential(quota.newUser("limits-tenant"));
            byte[] file = csv(2_400); // ~49 KB: two fit in the 100 KB quota, a third does not
            assertThat(file.length).isBetween(40_000, 50_000);
            String boundary = "----q";
            HttpResponse<String> first = quota.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                    TestServer.multipart(boundary, "file", "a.csv", file));
            assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
            assertThat(quota.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                    TestServer.multipart(boundary, "file", "b.csv", file)).statusCode()).isEqualTo(201);
            assertProblem(quota.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                    TestServer.multipart(boundary, "file", "c.csv", file)), 413, "storage-quota-exceeded",
                    "SERVEML_STORAGE_QUOTA_PER_USER");
            // An input sent with a job counts as well, and is refused before the job is accepted.
            assertProblem(new JobClient(quota).submit("d.csv", file, "{\"model\": \"quota-iris\"}"), 413,
                    "storage-quota-exceeded", "quota");
            assertThat(quota.delete("/api/v1/files/" + json(first).get("id").asText()).statusCode()).isEqualTo(204);
            assertThat(quota.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                    TestServer.multipart(boundary, "file", "c.csv", file)).statusCode()).isEqualTo(201);
            assertThat(quota.leftoverUploads()).isEmpty();
        }
    }

    @Test
    void retentionRemovesAFinishedJobWithItsFilesAndAnUploadedFile() {
        String id = jobs.submitted("rows.csv", csv(100), "{\"model\": \"limits-iris\", \"passthrough\": [\"id\"]}");
        JsonNode done = jobs.await(id, Duration.ofSeconds(60));
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("expires_at").isNull()).isFalse();
        String boundary = "----b";
        String fileId = json(server.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                TestServer.multipart(boundary, "file", "rows.csv", csv(10)))).get("id").asText();
        Poll.until(() -> server.get("/api/v1/jobs/" + id).statusCode() == 404, Duration.ofSeconds(30),
                "retention to remove the job");
        assertProblem(jobs.result(id, ""), 404, "job-not-found", id);
        Poll.until(() -> server.get("/api/v1/files/" + fileId).statusCode() == 404, Duration.ofSeconds(30),
                "retention to remove the file");
        assertThat(server.artifactKeys()).noneMatch(n -> n.startsWith("jobs/" + id) || n.startsWith("files/" + fileId));
    }
}
