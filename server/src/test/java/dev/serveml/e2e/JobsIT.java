package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Batch jobs over REST: the result against the predict route, bad rows, bad input, cancel, tenants. */
class JobsIT {
    private static final String HEADER = "id,sepal_length,sepal_width,petal_length,petal_width";
    private static final Duration LIMIT = Duration.ofSeconds(120);

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static JobClient jobs;
    static JsonNode iris;

    @BeforeAll
    static void start() {
        server = shared.server();
        jobs = new JobClient(server);
        assertThat(server.upload("jobs-iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        iris = json(new String(fixture("iris_expected.json")));
    }

    /** The 150 iris rows as CSV with an id column: id {@code r<i>}. */
    private static String irisCsv() {
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        JsonNode x = iris.get("X");
        for (int i = 0; i < x.size(); i++) {
            csv.append("r").append(i);
            for (JsonNode v : x.get(i)) {
                csv.append(',').append(v.asText());
            }
            csv.append('\n');
        }
        return csv.toString();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aJobOverTheIrisRowsAnswersWhatThePredictRouteAnswers() {
        String id = jobs.submitted("iris.csv", bytes(irisCsv()), "{\"model\": \"jobs-iris\", \"passthrough\": [\"id\"]}");
        JsonNode done = jobs.await(id, LIMIT);
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
        assertThat(done.get("rows").get("total").asLong()).isEqualTo(150);
        assertThat(done.get("rows").get("done").asLong()).isEqualTo(150);
        assertThat(done.get("rows").get("failed").asLong()).isZero();
        assertThat(done.get("percent").asInt()).isEqualTo(100);
        assertThat(done.get("output_format").asText()).isEqualTo("csv");

        JsonNode online = json(server.postJson("/api/v1/models/jobs-iris/predict", "{\"instances\": " + iris.get("X")
                + "}")).get("predictions");
        List<String> lines = jobs.resultLines(id);
        assertThat(lines.get(0)).isEqualTo("id,label,probabilities");
        assertThat(lines).hasSize(151);
        for (int i = 0; i < 150; i++) {
            String line = lines.get(i + 1);
            int comma = line.indexOf(',');
            int second = line.indexOf(',', comma + 1);
            assertThat(line.substring(0, comma)).isEqualTo("r" + i);
            assertThat(Long.parseLong(line.substring(comma + 1, second))).isEqualTo(online.get(i).get("label").asLong());
            String cell = line.substring(second + 1);
            assertThat(cell).startsWith("\"[").endsWith("]\"");
            JsonNode probabilities = json(cell.substring(1, cell.length() - 1).replace("\"\"", "\""));
            for (int c = 0; c < 3; c++) {
                assertThat(probabilities.get(c).asDouble()).isCloseTo(online.get(i).get("probabilities").get(c)
                        .asDouble(), within(1e-6));
            }
        }
        assertThat(jobs.errors(id)).isEmpty();
        // The job meters are there (their figures are every class's on this shared server).
        Poll.until(() -> server.get("/metrics").body(), m -> m.contains("serveml_jobs{status=\"completed\"}"),
                LIMIT, "the job gauges");
        assertThat(server.get("/metrics").body()).contains("serveml_job_rows_total{outcome=\"done\"}",
                "serveml_job_queue_chunks ");
    }

    @Test
    void jsonLinesInAndOutFromAnUploadedFile() {
        StringBuilder in = new StringBuilder();
        JsonNode x = iris.get("X");
        for (int i = 0; i < 20; i++) {
            in.append("{\"id\": ").append(i).append(", \"features\": ").append(x.get(i)).append("}\n");
        }
        // The JSON formats' "features" column feeds a tabular model a whole row at once? No: it has no
        // column names, so the row's features are its non-pass-through fields, here one too few.
        String boundary = "----b";
        HttpResponse<String> file = server.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                TestServer.multipart(boundary, "file", "rows.jsonl", bytes(in.toString())));
        assertThat(file.statusCode()).as(file.body()).isEqualTo(201);
        String fileId = json(file).get("id").asText();
        assertThat(json(server.get("/api/v1/files/" + fileId)).get("bytes").asLong()).isEqualTo(in.length());
        HttpResponse<String> refused = server.postJson("/api/v1/jobs", "{\"model\": \"jobs-iris\", \"input_file_id\": \""
                + fileId + "\", \"passthrough\": [\"id\"]}");
        assertProblem(refused, 422, "job-columns", "takes 4 features");

        StringBuilder named = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            named.append("{\"id\": ").append(i).append(", \"a\": ").append(x.get(i).get(0)).append(", \"b\": ")
                    .append(x.get(i).get(1)).append(", \"c\": ").append(x.get(i).get(2)).append(", \"d\": ")
                    .append(x.get(i).get(3)).append("}\n");
        }
        HttpResponse<String> second = server.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                TestServer.multipart(boundary, "file", "rows.jsonl", bytes(named.toString())));
        String secondId = json(second).get("id").asText();
        HttpResponse<String> accepted = server.postJson("/api/v1/jobs", "{\"model\": \"jobs-iris\", \"input_file_id\": \""
                + secondId + "\", \"passthrough\": [\"id\"], \"rows_per_call\": 7}");
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        assertThat(accepted.headers().firstValue("Location")).hasValue("/api/v1/jobs/" + json(accepted).get("id").asText());
        String id = json(accepted).get("id").asText();
        assertThat(jobs.await(id, LIMIT).get("status").asText()).isEqualTo("completed");
        List<String> lines = jobs.resultLines(id);
        assertThat(lines).hasSize(20);
        for (int i = 0; i < 20; i++) {
            JsonNode row = json(lines.get(i));
            assertThat(row.get("id").asInt()).isEqualTo(i);
            assertThat(row.get("label").asLong()).isEqualTo(iris.get("label").get(i).asLong());
        }
        // A file read by a finished job may go; then it is gone.
        assertThat(server.delete("/api/v1/files/" + secondId).statusCode()).isEqualTo(204);
        assertProblem(server.get("/api/v1/files/" + secondId), 404, "file-not-found", secondId);
    }

    @Test
    void tenPercentBadRowsFailThoseRowsWithTheirLinesAndNothingElse() {
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        Set<Long> badLines = new TreeSet<>();
        List<String> goodIds = new ArrayList<>();
        JsonNode x = iris.get("X");
        long line = 1;
        for (int i = 0; i < 200; i++) {
            line++;
            JsonNode r = x.get(i % 150);
            String row = "r" + i + "," + r.get(0) + "," + r.get(1) + "," + r.get(2) + "," + r.get(3);
            if (i % 10 == 3) {
                badLines.add(line);
                row = switch ((i / 10) % 5) {
                    case 0 -> "r" + i + "," + r.get(0) + ",abc," + r.get(2) + "," + r.get(3); // not a number
                    case 1 -> "r" + i + "," + r.get(0) + "," + r.get(1) + "," + r.get(2);     // ragged
                    case 2 -> "r" + i + "," + r.get(0) + ",\"1\"x," + r.get(2) + "," + r.get(3); // bad quoting
                    case 3 -> "r" + i + "," + r.get(0) + ",," + r.get(2) + "," + r.get(3);      // empty
                    default -> "r" + i + ",\"multi\nline\"," + r.get(1) + "," + r.get(2) + "," + r.get(3);
                };
                if (row.contains("\n")) {
                    line++; // the quoted line break: the row starts on its first line
                }
            } else {
                goodIds.add("r" + i);
            }
            csv.append(row).append('\n');
        }
        String id = jobs.submitted("bad.csv", bytes(csv.toString()), "{\"model\": \"jobs-iris\", \"passthrough\": [\"id\"], "
                + "\"rows_per_call\": 16, \"output_format\": \"jsonl\"}");
        JsonNode done = jobs.await(id, LIMIT);
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("rows").get("total").asLong()).isEqualTo(200);
        assertThat(done.get("rows").get("done").asLong()).isEqualTo(180);
        assertThat(done.get("rows").get("failed").asLong()).isEqualTo(20);
        List<String> ids = new ArrayList<>();
        for (String l : jobs.resultLines(id)) {
            ids.add(json(l).get("id").asText());
        }
        assertThat(ids).isEqualTo(goodIds);
        List<JsonNode> errors = jobs.errors(id);
        List<Long> lines = errors.stream().map(e -> e.get("line").asLong()).toList();
        assertThat(lines).containsExactlyElementsOf(badLines);
        for (JsonNode e : errors) {
            assertThat(e.get("problem").get("status").asInt()).isEqualTo(422);
            assertThat(e.get("problem").get("code").asText()).isEqualTo("invalid-input");
            assertThat(e.get("problem").get("detail").asText()).startsWith("line " + e.get("line").asLong() + ":");
        }
        assertThat(errors.get(0).get("problem").get("detail").asText()).contains("sepal_width").contains("abc");
        assertThat(errors.get(0).get("passthrough").get("id").asText()).isEqualTo("r3");
    }

    @Test
    void aValueTheModelRejectsFailsOnlyItsRowAndTheRestOfTheCallIsAnswered() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        // A Python model that refuses negative values as bad input (422), the way a validating model would.
        byte[] model = Fixtures.zip(Map.of("handler.py", """
                import numpy as np
                from serveml_worker.models import InputError
                SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                             "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
                def load(model_dir):
                    pass
                def predict(inputs):
                    x = np.asarray(inputs["x"], dtype=np.float64)
                    if (x < 0).any():
                        raise InputError("x must not be negative")
                    return {"y": x * 2}
                """));
        HttpResponse<String> uploaded = server.upload("jobs-picky", "picky.zip", model);
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        StringBuilder csv = new StringBuilder("id,x\n");
        Set<Long> negative = new TreeSet<>();
        for (int i = 0; i < 100; i++) {
            int x = i % 17 == 5 ? -i : i;
            if (x < 0) {
                negative.add(i + 2L);
            }
            csv.append(i).append(',').append(x).append('\n');
        }
        String id = jobs.submitted("picky.csv", bytes(csv.toString()), "{\"model\": \"jobs-picky\", \"passthrough\": "
                + "[\"id\"], \"rows_per_call\": 32, \"output_format\": \"jsonl\"}");
        JsonNode done = jobs.await(id, LIMIT);
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
        assertThat(done.get("rows").get("failed").asLong()).isEqualTo(negative.size());
        assertThat(done.get("rows").get("done").asLong()).isEqualTo(100 - negative.size());
        List<JsonNode> errors = jobs.errors(id);
        assertThat(errors.stream().map(e -> e.get("line").asLong()).toList()).containsExactlyElementsOf(negative);
        assertThat(errors.get(0).get("problem").get("detail").asText()).contains("x must not be negative");
        for (String line : jobs.resultLines(id)) {
            JsonNode row = json(line);
            assertThat(row.get("y").get(0).asDouble()).isEqualTo(2.0 * row.get("id").asInt());
        }
    }

    @Test
    void badFilesAndSpecsAreRefusedBeforeTheJobIsAccepted() {
        List<String> before = server.artifactKeys();
        String spec = "{\"model\": \"jobs-iris\", \"passthrough\": [\"id\"]}";
        assertProblem(jobs.submit("empty.csv", new byte[0], spec), 422, "invalid-job", "empty");
        assertProblem(jobs.submit("header.csv", bytes(HEADER + "\n"), spec), 422, "invalid-job", "no rows");
        assertProblem(jobs.submit("quoted.csv", bytes("id,\"sepal\"_length\nr,1\n"), spec), 422, "invalid-job",
                "the header cannot be read (line 1");
        assertProblem(jobs.submit("twice.csv", bytes("id,a,a,b,c\nr,1,2,3,4\n"), spec), 422, "job-columns",
                "'a' is named twice");
        assertProblem(jobs.submit("rows.txt", bytes(HEADER + "\nr,1,2,3,4\n"), spec), 422, "invalid-job",
                "input_format");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": \"jobs-iris\", "
                + "\"input_format\": \"xlsx\"}"), 422, "invalid-job", "xlsx");
        // Five columns and no pass-through: one too many features for the model.
        JsonNode width = assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": \"jobs-iris\"}"),
                422, "job-columns", "takes 4 features");
        assertThat(width.get("errors").get(0).get("pointer").asText()).isEqualTo("/columns");
        JsonNode missing = assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": "
                + "\"jobs-iris\", \"passthrough\": [\"key\"], \"features\": [\"sepal_length\", \"nope\"]}"), 422,
                "job-columns", "nope");
        assertThat(missing.get("detail").asText()).contains("'key'");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": \"no-such-model\"}"), 404,
                "model-not-found", "no-such-model");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"deployment\": \"no-such\"}"), 404,
                "deployment-not-found", "no-such");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": \"jobs-iris\", \"colour\": 1}"),
                422, "invalid-job", "colour");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": \"jobs-iris\", "
                + "\"rows_per_call\": 0}"), 422, "invalid-job", "rows_per_call");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), null), 422, "invalid-job", "spec");
        assertProblem(jobs.submit("rows.csv", bytes(HEADER + "\nr,1,2,3,4\n"), "{\"model\": "), 400, "malformed-json", "");
        assertProblem(server.postJson("/api/v1/jobs", "{\"model\": \"jobs-iris\"}"), 422, "invalid-job",
                "input_file_id");
        assertProblem(server.postJson("/api/v1/jobs", "{\"model\": \"jobs-iris\", \"input_file_id\": \"file-nope\"}"),
                404, "file-not-found", "file-nope");
        assertProblem(server.get("/api/v1/jobs/job-nope"), 404, "job-not-found", "job-nope");
        assertProblem(server.get("/api/v1/jobs?status=sleeping"), 400, "invalid-request", "sleeping");
        // Nothing refused left a file behind.
        assertThat(server.artifactKeys()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(server.leftoverUploads()).isEmpty();
    }

    @Test
    void cancellingMidJobKeepsTheRowsDoneAndAFinishedJobCannotBeCancelled() {
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int i = 0; i < 60_000; i++) {
            csv.append(i).append(",5.1,3.5,1.4,0.2\n");
        }
        String id = jobs.submitted("big.csv", bytes(csv.toString()), "{\"model\": \"jobs-iris\", \"passthrough\": "
                + "[\"id\"], \"rows_per_call\": 50, \"output_format\": \"jsonl\"}");
        Poll.until(() -> jobs.get(id), j -> j.get("rows").get("done").asLong() > 0, LIMIT, "rows to be done");
        assertProblem(jobs.result(id, ""), 409, "job-not-finished", "partial=true");
        assertProblem(server.delete("/api/v1/jobs/" + id), 409, "job-not-finished", "cancel");
        HttpResponse<String> partial = jobs.result(id, "?partial=true");
        assertThat(partial.statusCode()).isEqualTo(200);
        HttpResponse<String> cancel = server.postJson("/api/v1/jobs/" + id + "/cancel", "");
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(202);
        assertThat(json(cancel).get("status").asText()).isIn("cancelling", "cancelled");
        JsonNode done = jobs.await(id, LIMIT);
        assertThat(done.get("status").asText()).isEqualTo("cancelled");
        long rows = done.get("rows").get("done").asLong();
        assertThat(rows).isPositive().isLessThan(60_000);
        List<String> lines = jobs.resultLines(id);
        assertThat(lines).hasSize((int) rows);
        for (int i = 0; i < lines.size(); i++) {
            assertThat(json(lines.get(i)).get("id").asInt()).isEqualTo(i);
        }
        assertProblem(server.postJson("/api/v1/jobs/" + id + "/cancel", ""), 409, "job-finished", "cancelled");
        assertThat(server.delete("/api/v1/jobs/" + id).statusCode()).isEqualTo(204);
        assertProblem(server.get("/api/v1/jobs/" + id), 404, "job-not-found", id);
        assertThat(server.artifactKeys()).noneMatch(n -> n.startsWith("jobs/" + id + "/"));
    }

    @Test
    void revokingTheKeyAJobWasSubmittedWithStopsTheJob() throws Exception {
        String token = server.newUser("jobs-revoker");
        String key = server.createKey(token, "batch", "[\"predict\", \"models:write\"]");
        String keyId = json(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/api-keys"))
                .header("Authorization", "Bearer " + token))).get("items").get(0).get("id").asText();
        String boundary = "----k";
        HttpResponse<String> uploaded = jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/models/jobs-revoked/versions"))
                .header("X-API-Key", key).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "iris.onnx",
                        fixture("iris_rf.onnx")))));
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int i = 0; i < 60_000; i++) {
            csv.append(i).append(",5.1,3.5,1.4,0.2\n");
        }
        HttpResponse<String> submitted = jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs")).header("X-API-Key", key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(JobClient.multipart(boundary, "big.csv",
                        bytes(csv.toString()), "{\"model\": \"jobs-revoked\", \"passthrough\": [\"id\"], "
                                + "\"rows_per_call\": 50}"))));
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(202);
        String id = json(submitted).get("id").asText();
        HttpResponse<String> revoked = jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/api-keys/" + keyId))
                .header("Authorization", "Bearer " + token).DELETE());
        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
        JsonNode done = Poll.until(() -> json(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id))
                .header("Authorization", "Bearer " + token))), j -> !List.of("queued", "running", "cancelling")
                .contains(j.get("status").asText()), LIMIT, "the job to stop");
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("failed");
        assertThat(done.get("error").get("code").asText()).isEqualTo("invalid-api-key");
        assertThat(done.get("rows").get("done").asLong()).isLessThan(60_000);
    }

    @Test
    void theEventStreamFollowsAJobToItsEnd() throws Exception {
        String id = jobs.submitted("iris.csv", bytes(irisCsv()), "{\"model\": \"jobs-iris\", \"passthrough\": [\"id\"], "
                + "\"rows_per_call\": 10}");
        HttpResponse<java.util.stream.Stream<String>> r = java.net.http.HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id + "/events"))
                        .header("Authorization", "Bearer " + server.adminKey()).timeout(LIMIT).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        try (java.util.stream.Stream<String> lines = r.body()) {
            lines.filter(l -> l.startsWith("data: ")).forEach(l -> events.add(json(l.substring(6))));
        }
        assertThat(events).isNotEmpty();
        assertThat(events.get(events.size() - 1).get("status").asText()).isEqualTo("completed");
        assertThat(events.get(events.size() - 1).get("rows").get("done").asLong()).isEqualTo(150);
    }

    @Test
    void aTenantSeesNoneOfAnothersJobsFilesOrModels() {
        String id = jobs.submitted("iris.csv", bytes(irisCsv()), "{\"model\": \"jobs-iris\", \"passthrough\": [\"id\"]}");
        jobs.await(id, LIMIT);
        String boundary = "----b";
        String fileId = json(server.post("/api/v1/files", "multipart/form-data; boundary=" + boundary,
                TestServer.multipart(boundary, "file", "rows.csv", bytes(irisCsv())))).get("id").asText();

        String other = server.newUser("jobs-mallory");
        for (String path : List.of("/api/v1/jobs/" + id, "/api/v1/jobs/" + id + "/events", "/api/v1/jobs/" + id + "/result",
                "/api/v1/jobs/" + id + "/errors", "/api/v1/jobs/" + id + "/result?partial=true")) {
            assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + other)),
                    404, "job-not-found", id);
        }
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id + "/cancel"))
                .header("Authorization", "Bearer " + other).POST(HttpRequest.BodyPublishers.noBody())), 404,
                "job-not-found", id);
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs/" + id))
                .header("Authorization", "Bearer " + other).DELETE()), 404, "job-not-found", id);
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/files/" + fileId))
                .header("Authorization", "Bearer " + other)), 404, "file-not-found", fileId);
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/files/" + fileId))
                .header("Authorization", "Bearer " + other).DELETE()), 404, "file-not-found", fileId);
        // Neither the file nor the model can be borrowed for a job of one's own.
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs")).header("Authorization", "Bearer " + other)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"jobs-iris\", \"input_file_id\": \"" + fileId + "\"}"))), 404, "file-not-found",
                fileId);
        String b2 = "----c";
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs")).header("Authorization", "Bearer " + other)
                .header("Content-Type", "multipart/form-data; boundary=" + b2).POST(HttpRequest.BodyPublishers.ofByteArray(
                        JobClient.multipart(b2, "iris.csv", bytes(irisCsv()), "{\"model\": \"jobs-iris\", "
                                + "\"passthrough\": [\"id\"]}")))), 404, "model-not-found", "jobs-iris");
        JsonNode list = json(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs"))
                .header("Authorization", "Bearer " + other)));
        assertThat(list.get("jobs")).isEmpty();
        assertThat(list.get("total").asLong()).isZero();
        JsonNode files = json(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/files"))
                .header("Authorization", "Bearer " + other)));
        assertThat(files.get("files")).isEmpty();
        // The owner still sees both, and lists its job.
        assertThat(server.get("/api/v1/files/" + fileId).statusCode()).isEqualTo(200);
        JsonNode mine = json(server.get("/api/v1/jobs?status=completed&limit=200"));
        Set<String> ids = new HashSet<>();
        mine.get("jobs").forEach(j -> ids.add(j.get("id").asText()));
        assertThat(ids).contains(id);
        // A key without the predict scope may not submit.
        String reader = server.createKey(other, "reader", "[\"models:read\"]");
        assertProblem(jobs.raw(HttpRequest.newBuilder(server.uri("/api/v1/jobs")).header("X-API-Key", reader)), 403,
                "insufficient-scope", "predict");
    }
}
