package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Batch jobs through real faults: a server killed with SIGKILL in the middle of a job and started
 * again on its data directory, and two servers on one external database working one job's chunks.
 * Either way the result holds every input row exactly once, in input order. An OpenAI batch is a
 * job too: killed mid-batch and resumed, its output file holds every line's answer exactly once.
 */
class JobRecoveryIT {
    private static final Duration LIMIT = Duration.ofMinutes(4);
    private static final Pattern DONE_ROWS = Pattern.compile("serveml_job_rows_total\\{outcome=\"done\",?\\} ([0-9.E]+)");

    @TempDir
    Path dir;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private static byte[] rows(int n) {
        StringBuilder csv = new StringBuilder(n * 24 + 64).append("id,a,b,c,d\n");
        for (int i = 0; i < n; i++) {
            csv.append(i).append(',').append(4 + (i % 40) / 10.0).append(",3.1,").append(1 + (i % 60) / 10.0)
                    .append(",0.2\n");
        }
        return csv.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aServerKilledMidJobResumesItAndTheResultHasEveryRowExactlyOnce() throws Exception {
        int n = 200_000;
        Map<String, String> env = Map.of("SERVEML_AUTH", "off", "SERVEML_JOB_LEASE", "3s");
        String id;
        long doneBeforeKill;
        try (ChildServer first = ChildServer.start(dir, env)) {
            upload(first, "crash-iris");
            id = submit(first, "crash-iris", rows(n), 100);
            JsonNode midway = Poll.until(() -> job(first, id), j -> j.get("rows").get("done").asLong() >= 20_000,
                    LIMIT, "the job to be under way");
            assertThat(midway.get("status").asText()).isEqualTo("running");
            first.process().destroyForcibly(); // SIGKILL: no stop, no lease given back
            assertThat(first.awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
            doneBeforeKill = midway.get("rows").get("done").asLong();
        }
        try (ChildServer second = ChildServer.start(dir, env)) {
            JsonNode done = Poll.until(() -> job(second, id), j -> !j.get("status").asText().equals("running")
                    && !j.get("status").asText().equals("queued"), LIMIT, "the job to finish after the restart");
            assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
            assertThat(done.get("rows").get("total").asLong()).isEqualTo(n);
            assertThat(done.get("rows").get("done").asLong()).isEqualTo(n);
            assertThat(done.get("rows").get("failed").asLong()).isZero();
            assertEveryRowOnceInOrder(second, id, n);
            // It resumed: the rows done before the kill were not all done again.
            assertThat(doneRows(second)).isLessThanOrEqualTo(n - doneBeforeKill + 2_000);
        }
    }

    @Test
    void twoServersOnOneDatabaseBothScoreChunksOfOneJobAndTheResultIsExact() throws Exception {
        int n = 100_000;
        try (ExternalPostgres pg = ExternalPostgres.start()) {
            Path artifacts = dir.resolve("shared-artifacts");
            java.nio.file.Files.createDirectories(dir.resolve("a"));
            java.nio.file.Files.createDirectories(dir.resolve("b"));
            Map<String, String> env = Map.of("SERVEML_AUTH", "off", "SERVEML_DATABASE_URL", pg.url(),
                    "SERVEML_DATABASE_USER", ExternalPostgres.USER, "SERVEML_DATABASE_PASSWORD", ExternalPostgres.PASSWORD,
                    "SERVEML_ARTIFACTS_DIR", artifacts.toString(), "SERVEML_JOB_LEASE", "3s");
            try (ChildServer a = ChildServer.start(dir.resolve("a"), env);
                 ChildServer b = ChildServer.start(dir.resolve("b"), env)) {
                upload(a, "replica-iris");
                String id = submit(a, "replica-iris", rows(n), 100);
                JsonNode done = Poll.until(() -> job(b, id), j -> j.get("status").asText().equals("completed")
                        || j.get("status").asText().equals("failed"), LIMIT, "the job to finish");
                assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
                assertThat(done.get("rows").get("done").asLong()).isEqualTo(n);
                long byA = doneRows(a);
                long byB = doneRows(b);
                assertThat(byA).as("rows scored by the first server").isPositive();
                assertThat(byB).as("rows scored by the second server").isPositive();
                assertThat(byA + byB).isEqualTo(n);
                assertEveryRowOnceInOrder(a, id, n);
                assertEveryRowOnceInOrder(b, id, n);
            }
        }
    }

    @Test
    void aServerKilledMidBatchResumesItAndTheOutputHasEveryLineExactlyOnce() throws Exception {
        int n = 20_000;
        Map<String, String> env = Map.of("SERVEML_AUTH", "off", "SERVEML_JOB_LEASE", "3s");
        String id;
        long doneBeforeKill;
        try (ChildServer first = ChildServer.start(dir, env)) {
            upload(first, "crash-iris");
            id = createBatch(first, uploadLines(first, n));
            JsonNode midway = Poll.until(() -> batch(first, id),
                    b -> b.get("request_counts").get("completed").asLong() >= 2_000, LIMIT, "the batch to be under way");
            assertThat(midway.get("status").asText()).isEqualTo("in_progress");
            first.process().destroyForcibly(); // SIGKILL: no stop, no lease given back
            assertThat(first.awaitExit(Duration.ofSeconds(30))).isEqualTo(137);
            doneBeforeKill = midway.get("request_counts").get("completed").asLong();
        }
        try (ChildServer second = ChildServer.start(dir, env)) {
            JsonNode done = Poll.until(() -> batch(second, id), b -> !b.get("status").asText().equals("in_progress")
                    && !b.get("status").asText().equals("validating") && !b.get("status").asText().equals("finalizing"),
                    LIMIT, "the batch to finish after the restart");
            assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
            assertThat(done.get("request_counts")).isEqualTo(json("{\"total\": " + n + ", \"completed\": " + n
                    + ", \"failed\": 0}"));
            assertThat(done.get("error_file_id").isNull()).isTrue();
            HttpResponse<String> out = client.send(HttpRequest.newBuilder(second.uri("/v1/files/"
                    + done.get("output_file_id").asText() + "/content")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(out.statusCode()).isEqualTo(200);
            String[] lines = out.body().split("\n");
            assertThat(lines).hasSize(n);
            for (int i = 0; i < n; i++) {
                if (!lines[i].contains("\"custom_id\":\"c-" + i + "\"")) {
                    throw new AssertionError("line " + i + " of the output is " + lines[i]);
                }
            }
            // It resumed: the lines answered before the kill were not all answered again.
            assertThat(doneRows(second)).isLessThanOrEqualTo(n - doneBeforeKill + 2_000);
        }
    }

    private void assertEveryRowOnceInOrder(ChildServer server, String id, int n) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id + "/result")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> lines = JobClient.lines(r.body());
        assertThat(lines.get(0)).isEqualTo("id,label,probabilities");
        assertThat(lines).hasSize(n + 1);
        for (int i = 0; i < n; i++) {
            String line = lines.get(i + 1);
            if (!line.startsWith(i + ",")) {
                throw new AssertionError("row " + i + " of the result is " + line);
            }
        }
    }

    private long doneRows(ChildServer server) throws Exception {
        String metrics = client.send(HttpRequest.newBuilder(server.uri("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = DONE_ROWS.matcher(metrics);
        return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
    }

    private void upload(ChildServer server, String model) throws Exception {
        String boundary = "b" + UUID.randomUUID();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/api/v1/models/" + model + "/versions"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "iris.onnx",
                        fixture("iris_rf.onnx")))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    private String submit(ChildServer server, String model, byte[] csv, int rowsPerCall) throws Exception {
        String boundary = "b" + UUID.randomUUID();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/api/v1/jobs"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(JobClient.multipart(boundary, "rows.csv", csv,
                        "{\"model\": \"" + model + "\", \"passthrough\": [\"id\"], \"rows_per_call\": " + rowsPerCall
                                + "}"))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r).get("id").asText();
    }

    private JsonNode job(ChildServer server, String id) {
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return json(r);
        } catch (java.io.IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private String uploadLines(ChildServer server, int n) throws Exception {
        StringBuilder lines = new StringBuilder(n * 140);
        for (int i = 0; i < n; i++) {
            lines.append("{\"custom_id\": \"c-").append(i).append("\", \"method\": \"POST\", \"url\": "
                    + "\"/api/v1/models/crash-iris/predict\", \"body\": {\"features\": [").append(4 + (i % 40) / 10.0)
                    .append(", 3.1, ").append(1 + (i % 60) / 10.0).append(", 0.2]}}\n");
        }
        String boundary = "b" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n")
                .getBytes(StandardCharsets.UTF_8));
        body.writeBytes(TestServer.multipart(boundary, "file", "requests.jsonl",
                lines.toString().getBytes(StandardCharsets.UTF_8)));
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/v1/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("id").asText();
    }

    private String createBatch(ChildServer server, String fileId) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/v1/batches"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\": \"" + fileId + "\", \"endpoint\": "
                        + "\"/api/v1/models/crash-iris/predict\", \"completion_window\": \"24h\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("id").asText();
    }

    private JsonNode batch(ChildServer server, String id) {
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(server.uri("/v1/batches/" + id)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return json(r);
        } catch (java.io.IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
