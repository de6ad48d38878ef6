package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.serveml.e2e.TestServer.JSON;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 16's OpenAI Batch API, on the jobs engine: /v1/files (purpose batch) and /v1/batches over
 * lines that target the native predict route and /v1/embeddings, each answered as its route answers
 * it; lines at fault (unreadable, an unknown url, a bad body, an input the model refuses, an unknown
 * model) in the error file with their custom_id; exact request_counts; cancel; another tenant sees
 * nothing of it (404 in OpenAI's shape); and the official OpenAI JavaScript client runs a batch.
 */
class OpenAiBatchIT {
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final String IRIS = "/api/v1/models/ob-iris/predict";
    private static final String TEXT = "The movie was great fun.";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static String alice;
    static String mallory;

    @BeforeAll
    static void start() {
        server = shared.server();
        String token = server.newUser("ob-alice");
        server.useCredential(token);
        assertThat(server.upload("ob-iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        HttpResponse<String> r = server.upload("ob-encoder", "bert-tiny-encoder.zip",
                RepoZip.of("bert-tiny-encoder").bytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        r = server.upload("ob-gpt2", "gpt2-tiny.zip", RepoZip.of("gpt2-tiny").bytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        // The predict scope is enough to upload files and run batches.
        alice = server.createKey(token, "batches", "[\"predict\"]");
        mallory = server.createKey(server.newUser("ob-mallory"), "mallory", "[\"predict\"]");
        server.useCredential(alice);
    }

    private static String line(String customId, String url, String body) {
        return "{\"custom_id\": \"" + customId + "\", \"method\": \"POST\", \"url\": \"" + url + "\", \"body\": " + body
                + "}";
    }

    private static HttpResponse<String> uploadFile(String key, String fileName, String purpose, String text) {
        String boundary = "ob-" + UUID.randomUUID();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose
                + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(TestServer.multipart(boundary, "file", fileName, text.getBytes(StandardCharsets.UTF_8)));
        return as(key, HttpRequest.newBuilder(server.uri("/v1/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())));
    }

    private static HttpResponse<String> as(String key, HttpRequest.Builder request) {
        return server.sendRaw(request.header("Authorization", "Bearer " + key).build());
    }

    private static HttpResponse<String> get(String key, String path) {
        return as(key, HttpRequest.newBuilder(server.uri(path)).GET());
    }

    private static HttpResponse<String> post(String key, String path, String body) {
        return as(key, HttpRequest.newBuilder(server.uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private static String fileId(String text) {
        HttpResponse<String> r = uploadFile(alice, "requests.jsonl", "batch", text);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("id").asText();
    }

    private static JsonNode created(String fileId, String endpoint) {
        HttpResponse<String> r = post(alice, "/v1/batches", "{\"input_file_id\": \"" + fileId + "\", \"endpoint\": \""
                + endpoint + "\", \"completion_window\": \"24h\", \"metadata\": {\"run\": \"it\"}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    private static JsonNode await(String id) {
        return Poll.until(() -> json(get(alice, "/v1/batches/" + id)),
                b -> Set.of("completed", "failed", "cancelled", "expired").contains(b.get("status").asText()), LIMIT,
                "batch " + id + " to finish");
    }

    private static List<JsonNode> lines(String key, String fileId) {
        HttpResponse<String> r = get(key, "/v1/files/" + fileId + "/content");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        for (String l : r.body().split("\n")) {
            if (!l.isEmpty()) {
                out.add(json(l));
            }
        }
        return out;
    }

    /** OpenAI's error body with this type and ServeML's code. */
    private static void assertOpenAiError(HttpResponse<String> r, int status, String type, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode error = json(r).get("error");
        assertThat(error).as(r.body()).isNotNull();
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asText()).isEqualTo(code);
        assertThat(error.get("message").asText()).isNotEmpty();
    }

    @Test
    void aBatchAnswersEachLineAsItsRouteAndPutsTheLinesAtFaultInTheErrorFile() {
        String predictBody = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";
        String otherBody = "{\"features\": [6.7, 3.0, 5.2, 2.3]}";
        String embedBody = "{\"model\": \"ob-encoder\", \"input\": \"" + TEXT + "\"}";
        String input = String.join("\n",
                line("p-0", IRIS, predictBody),
                line("e-0", "/v1/embeddings", embedBody),
                line("bad-url", "/v1/nope", "{}"),
                line("bad-body", "/v1/embeddings", "{\"model\": \"ob-encoder\"}"),
                "{not json",
                line("bad-features", IRIS, "{\"features\": [5.1]}"),
                line("no-model", "/v1/embeddings", "{\"model\": \"ob-nothing\", \"input\": \"x\"}"),
                line("p-1", IRIS, otherBody)) + "\n";
        String file = fileId(input);
        JsonNode fileObject = json(get(alice, "/v1/files/" + file));
        assertThat(fileObject.get("object").asText()).isEqualTo("file");
        assertThat(fileObject.get("purpose").asText()).isEqualTo("batch");
        assertThat(fileObject.get("filename").asText()).isEqualTo("requests.jsonl");
        assertThat(fileObject.get("bytes").asLong()).isEqualTo(input.getBytes(StandardCharsets.UTF_8).length);
        assertThat(get(alice, "/v1/files/" + file + "/content").body()).isEqualTo(input);

        JsonNode batch = created(file, IRIS);
        String id = batch.get("id").asText();
        assertThat(id).matches("batch_[0-9a-f]{32}");
        assertThat(batch.get("object").asText()).isEqualTo("batch");
        assertThat(batch.get("status").asText()).isIn("validating", "in_progress");
        assertThat(batch.get("output_file_id").isNull()).isTrue();

        JsonNode done = await(id);
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
        assertThat(done.get("request_counts")).isEqualTo(json("{\"total\": 8, \"completed\": 3, \"failed\": 5}"));
        assertThat(done.get("endpoint").asText()).isEqualTo(IRIS);
        assertThat(done.get("input_file_id").asText()).isEqualTo(file);
        assertThat(done.get("completion_window").asText()).isEqualTo("24h");
        assertThat(done.get("errors").isNull()).isTrue();
        assertThat(done.get("metadata")).isEqualTo(json("{\"run\": \"it\"}"));
        assertThat(done.get("output_file_id").asText()).isEqualTo("file-" + id + "-output");
        assertThat(done.get("error_file_id").asText()).isEqualTo("file-" + id + "-errors");
        long created = done.get("created_at").asLong();
        assertThat(done.get("in_progress_at").asLong()).isBetween(created, created + 120);
        assertThat(done.get("completed_at").asLong()).isGreaterThanOrEqualTo(done.get("in_progress_at").asLong());
        assertThat(done.get("expires_at").asLong()).isEqualTo(created + 24 * 3600);
        for (String none : List.of("failed_at", "expired_at", "cancelling_at", "cancelled_at")) {
            assertThat(done.get(none).isNull()).as(none).isTrue();
        }

        // The output: the lines answered, in input order, each body what its route answers.
        List<JsonNode> out = lines(alice, done.get("output_file_id").asText());
        assertThat(out).extracting(l -> l.get("custom_id").asText()).containsExactly("p-0", "e-0", "p-1");
        for (JsonNode l : out) {
            assertThat(l.get("id").asText()).matches("batch_req_[0-9a-f]{32}");
            assertThat(l.get("error").isNull()).isTrue();
            assertThat(l.get("response").get("status_code").asInt()).isEqualTo(200);
            assertThat(l.get("response").get("request_id").asText()).startsWith("req_");
        }
        assertThat(withoutTimings(out.get(0))).isEqualTo(withoutTimings(json(post(alice, IRIS, predictBody))));
        assertThat(withoutTimings(out.get(2))).isEqualTo(withoutTimings(json(post(alice, IRIS, otherBody))));
        assertThat(out.get(1).get("response").get("body")).isEqualTo(json(post(alice, "/v1/embeddings", embedBody)));

        // The errors: the lines at fault, in input order, each with its custom_id and why.
        List<JsonNode> errors = lines(alice, done.get("error_file_id").asText());
        assertThat(errors).extracting(l -> l.get("custom_id").isNull() ? null : l.get("custom_id").asText())
                .containsExactly("bad-url", "bad-body", null, "bad-features", "no-model");
        assertThat(errors.get(0).get("response").isNull()).isTrue();
        assertThat(errors.get(0).get("error").get("code").asText()).isEqualTo("not-found");
        assertThat(errors.get(0).get("error").get("message").asText()).contains("line 3", "/v1/nope");
        JsonNode badBody = errors.get(1).get("response");
        assertThat(badBody.get("status_code").asInt()).isEqualTo(400);
        assertThat(badBody.get("body").get("error").get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(badBody.get("body").get("error").get("param").asText()).isEqualTo("input");
        assertThat(errors.get(1).get("error").isNull()).isTrue();
        assertThat(errors.get(2).get("response").isNull()).isTrue();
        assertThat(errors.get(2).get("error").get("message").asText()).contains("line 5");
        // A native route's line fails as that route answers: its status and problem.
        JsonNode badFeatures = errors.get(3).get("response");
        assertThat(badFeatures.get("status_code").asInt()).isEqualTo(422);
        assertThat(badFeatures.get("body").get("status").asInt()).isEqualTo(422);
        assertThat(badFeatures.get("body").get("instance").asText()).isEqualTo(IRIS);
        assertThat(badFeatures.get("body").get("detail").asText()).contains("4");
        JsonNode noModel = errors.get(4).get("response");
        assertThat(noModel.get("status_code").asInt()).isEqualTo(404);
        assertThat(noModel.get("body").get("error").get("type").asText()).isEqualTo("not_found_error");

        // The batch's files are files: retrievable, their bytes their content's.
        JsonNode outFile = json(get(alice, "/v1/files/" + done.get("output_file_id").asText()));
        assertThat(outFile.get("purpose").asText()).isEqualTo("batch_output");
        assertThat(outFile.get("bytes").asLong()).isEqualTo(get(alice, "/v1/files/" + outFile.get("id").asText()
                + "/content").body().getBytes(StandardCharsets.UTF_8).length);
        assertThat(json(get(alice, "/v1/files/" + done.get("error_file_id").asText())).get("purpose").asText())
                .isEqualTo("batch_error");
        // ... and the batch is a job of the one engine.
        JsonNode job = json(get(alice, "/api/v1/jobs/" + id));
        assertThat(job.get("status").asText()).isEqualTo("completed");
        assertThat(job.get("rows")).isEqualTo(json("{\"total\": 8, \"done\": 3, \"failed\": 5}"));

        JsonNode listed = json(get(alice, "/v1/batches?limit=100"));
        assertThat(listed.get("object").asText()).isEqualTo("list");
        assertThat(listed.get("data")).extracting(b -> b.get("id").asText()).contains(id);
    }

    @Test
    void chatAndTextCompletionLinesAnswerWhatTheirRoutesAnswer() {
        String chat = "{\"model\": \"ob-gpt2\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], "
                + "\"max_completion_tokens\": 4, \"temperature\": 0}";
        String text = "{\"model\": \"ob-gpt2\", \"prompt\": \"Hello world\", \"max_tokens\": 5, \"temperature\": 0}";
        String input = String.join("\n",
                line("chat", "/v1/chat/completions", chat),
                line("text", "/v1/completions", text),
                line("streamed", "/v1/chat/completions", chat.substring(0, chat.length() - 1) + ", \"stream\": true}"),
                line("not-a-generator", "/v1/chat/completions", chat.replace("ob-gpt2", "ob-encoder"))) + "\n";
        JsonNode done = await(created(fileId(input), "/v1/chat/completions").get("id").asText());
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
        assertThat(done.get("request_counts")).isEqualTo(json("{\"total\": 4, \"completed\": 2, \"failed\": 2}"));
        List<JsonNode> out = lines(alice, done.get("output_file_id").asText());
        assertThat(out).extracting(l -> l.get("custom_id").asText()).containsExactly("chat", "text");
        JsonNode chatBody = out.get(0).get("response").get("body");
        assertThat(chatBody.get("object").asText()).isEqualTo("chat.completion");
        assertThat(chatBody.get("id").asText()).startsWith("chatcmpl-");
        assertThat(withoutIds(chatBody)).isEqualTo(withoutIds(json(post(alice, "/v1/chat/completions", chat))));
        JsonNode textBody = out.get(1).get("response").get("body");
        assertThat(textBody.get("object").asText()).isEqualTo("text_completion");
        assertThat(withoutIds(textBody)).isEqualTo(withoutIds(json(post(alice, "/v1/completions", text))));

        List<JsonNode> errors = lines(alice, done.get("error_file_id").asText());
        assertThat(errors).extracting(l -> l.get("custom_id").asText()).containsExactly("streamed", "not-a-generator");
        assertThat(errors.get(0).at("/response/status_code").asInt()).isEqualTo(400);
        assertThat(errors.get(0).at("/response/body/error/param").asText()).isEqualTo("stream");
        assertThat(errors.get(1).at("/response/status_code").asInt()).isEqualTo(400);
        assertThat(errors.get(1).at("/response/body/error/type").asText()).isEqualTo("invalid_request_error");
    }

    private static JsonNode withoutIds(JsonNode completion) {
        ObjectNode copy = completion.deepCopy();
        copy.remove(List.of("id", "created"));
        return copy;
    }

    private static JsonNode withoutTimings(JsonNode outputLineOrAnswer) {
        JsonNode body = outputLineOrAnswer.has("response") ? outputLineOrAnswer.get("response").get("body")
                : outputLineOrAnswer;
        ObjectNode copy = body.deepCopy();
        copy.remove(List.of("cache", "inference_ms", "latency_ms"));
        return copy;
    }

    @Test
    void batchesPageNewestFirstWithAfterAndLimit() {
        String file = fileId(line("one", IRIS, "{\"features\": [5.1, 3.5, 1.4, 0.2]}") + "\n");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(created(file, IRIS).get("id").asText());
        }
        JsonNode first = json(get(alice, "/v1/batches?limit=2"));
        assertThat(first.get("data")).extracting(b -> b.get("id").asText()).containsExactly(ids.get(2), ids.get(1));
        assertThat(first.get("first_id").asText()).isEqualTo(ids.get(2));
        assertThat(first.get("last_id").asText()).isEqualTo(ids.get(1));
        assertThat(first.get("has_more").asBoolean()).isTrue();
        JsonNode next = json(get(alice, "/v1/batches?limit=1&after=" + ids.get(1)));
        assertThat(next.get("data")).extracting(b -> b.get("id").asText()).containsExactly(ids.get(0));
        assertOpenAiError(get(alice, "/v1/batches?limit=0"), 400, "invalid_request_error", "invalid-request");
        ids.forEach(OpenAiBatchIT::await);
    }

    @Test
    void aCancelledBatchStopsAndKeepsTheLinesItAnswered() {
        StringBuilder input = new StringBuilder();
        int total = 3000;
        for (int i = 0; i < total; i++) {
            input.append(line("c-" + i, IRIS, "{\"features\": [5.1, 3.5, 1.4, " + (i % 25) / 10.0 + "]}")).append('\n');
        }
        String id = created(fileId(input.toString()), IRIS).get("id").asText();
        HttpResponse<String> cancel = post(alice, "/v1/batches/" + id + "/cancel", "");
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(200);
        assertThat(json(cancel).get("status").asText()).isIn("cancelling", "cancelled");
        JsonNode done = await(id);
        assertThat(done.get("status").asText()).isEqualTo("cancelled");
        assertThat(done.get("cancelled_at").asLong()).isGreaterThanOrEqualTo(done.get("created_at").asLong());
        long completed = done.get("request_counts").get("completed").asLong();
        assertThat(completed).isLessThan(total);
        assertThat(done.get("request_counts").get("failed").asLong()).isZero();
        if (completed > 0) {
            List<JsonNode> out = lines(alice, done.get("output_file_id").asText());
            assertThat(out).hasSize((int) completed);
            assertThat(out.stream().map(l -> l.get("custom_id").asText()).distinct().count()).isEqualTo(completed);
        } else {
            assertThat(done.get("output_file_id").isNull()).isTrue();
        }
        assertOpenAiError(post(alice, "/v1/batches/" + id + "/cancel", ""), 409, "invalid_request_error",
                "job-finished");
    }

    @Test
    void aBatchOrFileThatIsNotRightIsRefusedInOpenAisShape() {
        assertOpenAiError(uploadFile(alice, "r.jsonl", "fine-tune", "{}\n"), 400, "invalid_request_error",
                "invalid-request");
        String file = fileId(line("one", IRIS, "{\"features\": [5.1, 3.5, 1.4, 0.2]}") + "\n");
        assertOpenAiError(post(alice, "/v1/batches", "{\"input_file_id\": \"" + file + "\", \"endpoint\": "
                + "\"/v1/images\", \"completion_window\": \"24h\"}"), 400, "invalid_request_error", "invalid-request");
        assertOpenAiError(post(alice, "/v1/batches", "{\"input_file_id\": \"" + file + "\", \"endpoint\": \""
                + IRIS + "\", \"completion_window\": \"1h\"}"), 400, "invalid_request_error", "invalid-request");
        assertOpenAiError(post(alice, "/v1/batches", "{\"input_file_id\": \"file-nothing\", \"endpoint\": \""
                + IRIS + "\", \"completion_window\": \"24h\"}"), 404, "not_found_error", "file-not-found");
        // A jobs file (purpose jobs) is not a batch's input.
        String boundary = "ob-" + UUID.randomUUID();
        HttpResponse<String> jobsFile = as(alice, HttpRequest.newBuilder(server.uri("/api/v1/files"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "rows.jsonl",
                        "{\"a\": 1}\n".getBytes(StandardCharsets.UTF_8)))));
        assertThat(jobsFile.statusCode()).as(jobsFile.body()).isEqualTo(201);
        assertOpenAiError(post(alice, "/v1/batches", "{\"input_file_id\": \"" + json(jobsFile).get("id").asText()
                + "\", \"endpoint\": \"" + IRIS + "\", \"completion_window\": \"24h\"}"), 400, "invalid_request_error",
                "invalid-job");
        assertOpenAiError(get(alice, "/v1/batches/batch_00000000000000000000000000000000"), 404, "not_found_error",
                "batch-not-found");
    }

    @Test
    void anotherTenantSeesNoneOfABatchOrItsFiles() {
        String file = fileId(line("one", IRIS, "{\"features\": [5.1, 3.5, 1.4, 0.2]}") + "\n"
                + line("two", "/v1/nope", "{}") + "\n");
        String id = created(file, IRIS).get("id").asText();
        JsonNode done = await(id);
        String output = done.get("output_file_id").asText();
        String errors = done.get("error_file_id").asText();

        assertOpenAiError(get(mallory, "/v1/batches/" + id), 404, "not_found_error", "batch-not-found");
        assertOpenAiError(post(mallory, "/v1/batches/" + id + "/cancel", ""), 404, "not_found_error",
                "batch-not-found");
        for (String f : List.of(file, output, errors)) {
            assertOpenAiError(get(mallory, "/v1/files/" + f), 404, "not_found_error", "file-not-found");
            assertOpenAiError(get(mallory, "/v1/files/" + f + "/content"), 404, "not_found_error", "file-not-found");
            assertOpenAiError(as(mallory, HttpRequest.newBuilder(server.uri("/v1/files/" + f)).DELETE()), 404,
                    "not_found_error", "file-not-found");
        }
        // Another's input file cannot be the input of one's own batch.
        assertOpenAiError(post(mallory, "/v1/batches", "{\"input_file_id\": \"" + file + "\", \"endpoint\": \""
                + IRIS + "\", \"completion_window\": \"24h\"}"), 404, "not_found_error", "file-not-found");
        assertThat(json(get(mallory, "/v1/batches")).get("data")).isEmpty();
        assertThat(json(get(mallory, "/v1/files")).get("data")).isEmpty();
        assertThat(json(get(mallory, "/v1/batches?after=" + id)).get("data")).isEmpty();
        assertThat(get(mallory, "/api/v1/jobs/" + id).statusCode()).isEqualTo(404);
        // Nothing of it changed for its owner.
        assertThat(json(get(alice, "/v1/batches/" + id)).get("status").asText()).isEqualTo("completed");
        assertThat(lines(alice, output)).hasSize(1);
        assertThat(json(get(alice, "/v1/files")).get("data")).extracting(f -> f.get("id").asText()).contains(file);
    }

    @Test
    void theOfficialOpenAiClientRunsABatchOfEmbeddings() throws Exception {
        Path module = OpenAiClientIT.openAiModule();
        List<String> texts = List.of(TEXT, "A boring, slow film");
        StringBuilder input = new StringBuilder();
        for (int i = 0; i < texts.size(); i++) {
            input.append(line("emb-" + i, "/v1/embeddings", "{\"model\": \"ob-encoder\", \"input\": \""
                    + texts.get(i) + "\"}")).append('\n');
        }
        Path script = Path.of(OpenAiBatchIT.class.getResource("/openai/batch.cjs").toURI());
        ProcessBuilder b = new ProcessBuilder("node", script.toString());
        b.environment().putAll(Map.of("OPENAI_MODULE", module.toString(), "BASE_URL", server.uri("/v1").toString(),
                "API_KEY", alice, "LINES", input.toString()));
        Path err = Files.createTempFile("openai-batch", ".err");
        b.redirectError(err.toFile());
        Process p = b.start();
        byte[] stdout = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        String stderr = Files.readString(err);
        Files.delete(err);
        assertThat(p.exitValue()).as(stderr).isZero();
        JsonNode out = JSON.readTree(new String(stdout, StandardCharsets.UTF_8));

        assertThat(out.get("file").get("purpose").asText()).isEqualTo("batch");
        assertThat(out.get("created").get("endpoint").asText()).isEqualTo("/v1/embeddings");
        JsonNode done = out.get("done");
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("completed");
        assertThat(done.get("request_counts")).isEqualTo(json("{\"total\": 2, \"completed\": 2, \"failed\": 0}"));
        assertThat(done.get("error_file_id").isNull()).isTrue();
        List<JsonNode> lines = new ArrayList<>();
        for (String l : out.get("output").asText().split("\n")) {
            lines.add(json(l));
        }
        assertThat(lines).extracting(l -> l.get("custom_id").asText()).containsExactly("emb-0", "emb-1");
        for (int i = 0; i < texts.size(); i++) {
            JsonNode online = json(post(alice, "/v1/embeddings", "{\"model\": \"ob-encoder\", \"input\": \""
                    + texts.get(i) + "\"}"));
            assertThat(lines.get(i).get("response").get("body")).isEqualTo(online);
        }
        assertThat(out.get("listed").get(0).asText()).isEqualTo(done.get("id").asText());
        assertThat(out.get("missing").get("status").asInt()).isEqualTo(404);
        assertThat(out.get("missing").get("notFound").asBoolean()).isTrue();
    }
}
