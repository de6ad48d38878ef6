package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Set;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Issue 14: a Hugging Face text-classification repository uploaded as a zip, called with Hugging
 * Face's own request and answer shapes on the native route, and over V2 with BYTES; parameters
 * reach the model and key the response cache; a tenant's repository cannot read the server's
 * files nor feed the tokenizer library what is not a tokenizer.
 */
class TextModelsIT {
    /** Logits of bert-tiny-sst2 from expected.json (torch): [NEGATIVE, POSITIVE]. */
    private static final double[] LOVED = {0.9316515, 2.7487607};
    private static final double[] NOT_BAD = {1.9973729, 0.2144939};

    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir);
        HttpResponse<String> r = server.upload("sst2", "bert-tiny-sst2.zip", RepoZip.of("bert-tiny-sst2").bytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void theVersionShowsItsTextSignatureAndWhatTheRuntimeLearned() {
        JsonNode v = json(server.get("/api/v1/models/sst2/versions/1"));
        assertThat(v.get("runtime").asText()).isEqualTo("text");
        assertThat(v.get("format").asText()).isEqualTo("huggingface");
        assertThat(v.at("/signature/inputs/0/name").asText()).isEqualTo("text");
        assertThat(v.at("/signature/inputs/0/datatype").asText()).isEqualTo("BYTES");
        assertThat(v.at("/metadata/task").asText()).isEqualTo("text-classification");
        assertThat(v.at("/metadata/labels")).isEqualTo(json("[\"NEGATIVE\", \"POSITIVE\"]"));
        assertThat(v.at("/metadata/max_length").asInt()).isEqualTo(64);
        assertThat(v.at("/metadata/tokenizer").asText()).isEqualTo("WordPiece");
    }

    @Test
    void oneTextInHuggingFacesShapeGetsItsBestLabelWithTheTorchSoftmaxScore() {
        JsonNode answer = predict("{\"inputs\": \"I loved this movie!\"}");
        assertThat(answer.size()).isEqualTo(1);
        assertThat(answer.at("/0/label").asText()).isEqualTo("POSITIVE");
        assertThat(answer.at("/0/score").asDouble()).isCloseTo(softmax(LOVED)[1], within(1e-4));
    }

    @Test
    void topKGivesThatManyLabelsBestFirstAndAListOfTextsOneAnswerPerText() {
        JsonNode top = predict("{\"inputs\": \"I loved this movie!\", \"parameters\": {\"top_k\": 2}}");
        assertThat(top.size()).isEqualTo(2);
        assertThat(top.at("/0/label").asText()).isEqualTo("POSITIVE");
        assertThat(top.at("/1/label").asText()).isEqualTo("NEGATIVE");
        assertThat(top.at("/1/score").asDouble()).isCloseTo(softmax(LOVED)[0], within(1e-4));

        JsonNode list = predict("{\"inputs\": [\"I loved this movie!\", \"Not bad at all.\"]}");
        assertThat(list.size()).isEqualTo(2);
        assertThat(list.at("/0/label").asText()).isEqualTo("POSITIVE");
        assertThat(list.at("/1/label").asText()).isEqualTo("NEGATIVE");
        assertThat(list.at("/1/score").asDouble()).isCloseTo(softmax(NOT_BAD)[0], within(1e-4));

        JsonNode nested = predict("{\"inputs\": [\"I loved this movie!\", \"Not bad at all.\"], "
                + "\"parameters\": {\"top_k\": 5}}");
        assertThat(nested.size()).isEqualTo(2);
        assertThat(nested.get(1).size()).as("top_k past the labels gives them all").isEqualTo(2);
        assertThat(nested.at("/1/1/label").asText()).isEqualTo("POSITIVE");
        assertThat(nested.at("/1/1/score").asDouble()).isCloseTo(softmax(NOT_BAD)[1], within(1e-4));
    }

    @Test
    void theV2ProtocolTakesTextsAsABytesTensor() {
        HttpResponse<String> r = server.postJson("/v2/models/sst2/infer", "{\"inputs\": [{\"name\": \"text\", "
                + "\"shape\": [2], \"datatype\": \"BYTES\", \"data\": [\"I loved this movie!\", \"Not bad at all.\"]}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode outputs = json(r).get("outputs");
        JsonNode label = outputs.get(0).get("name").asText().equals("label") ? outputs.get(0) : outputs.get(1);
        JsonNode score = label == outputs.get(0) ? outputs.get(1) : outputs.get(0);
        assertThat(label.get("datatype").asText()).isEqualTo("BYTES");
        assertThat(label.get("shape")).isEqualTo(json("[2, 1]"));
        assertThat(label.get("data")).isEqualTo(json("[\"POSITIVE\", \"NEGATIVE\"]"));
        assertThat(score.get("data").get(0).asDouble()).isCloseTo(softmax(LOVED)[1], within(1e-4));
    }

    @Test
    void theSameTextWithTwoTopKValuesNeverSharesACachedAnswer() {
        String one = "{\"inputs\": \"a cached text\", \"parameters\": {\"top_k\": 1}}";
        String two = "{\"inputs\": \"a cached text\", \"parameters\": {\"top_k\": 2}}";
        HttpResponse<String> first = server.postJson("/api/v1/models/sst2/predict", one);
        HttpResponse<String> second = server.postJson("/api/v1/models/sst2/predict", two);
        HttpResponse<String> firstAgain = server.postJson("/api/v1/models/sst2/predict", one);
        HttpResponse<String> secondAgain = server.postJson("/api/v1/models/sst2/predict", two);

        assertThat(first.headers().firstValue("X-Cache")).hasValue("miss");
        assertThat(second.headers().firstValue("X-Cache")).as("another top_k is another answer").hasValue("miss");
        assertThat(firstAgain.headers().firstValue("X-Cache")).hasValue("hit");
        assertThat(secondAgain.headers().firstValue("X-Cache")).hasValue("hit");
        assertThat(json(first).size()).isEqualTo(1);
        assertThat(json(firstAgain).size()).isEqualTo(1);
        assertThat(json(second).size()).isEqualTo(2);
        assertThat(json(secondAgain)).isEqualTo(json(second));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"inputs\": \"\"}                                         | /inputs/0            | the text is empty",
            "{\"inputs\": [\"fine\", 7]}                                | /inputs/1            | BYTES",
            "{\"inputs\": \"fine\", \"parameters\": {\"top_p\": 0.9}}   | /parameters/top_p    | unknown parameter",
            "{\"inputs\": \"fine\", \"parameters\": {\"top_k\": 0}}     | /parameters/top_k    | a whole number",
            "{\"inputs\": \"fine\", \"parameters\": {\"top_k\": [2]}}   | /parameters/top_k    | a parameter is",
            "{\"inputs\": []}                                          | /inputs              | at least one text",
    })
    void badTextsAndParametersAre422sNamingTheField(String body, String pointer, String detail) {
        HttpResponse<String> r = server.postJson("/api/v1/models/sst2/predict", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        JsonNode problem = json(r);
        assertThat(problem.get("detail").asText() + problem.get("errors")).contains(detail);
        assertThat(problem.at("/errors/0/pointer").asText()).isEqualTo(pointer);
    }

    @Test
    void aListOfTextsOverTheLimitIsA422AndTheModelStillAnswers() {
        String texts = String.join(", ", Collections.nCopies(257, "\"a\""));
        HttpResponse<String> r = server.postJson("/api/v1/models/sst2/predict", "{\"inputs\": [" + texts + "]}");
        assertProblem(r, 422, "invalid-input", "at most 256 texts per request");
        assertThat(predict("{\"inputs\": \"I loved this movie!\"}").at("/0/label").asText()).isEqualTo("POSITIVE");
    }

    @Test
    void aRepositoryWhoseExportReadsTheServersFilesIsRefusedAndLeavesNothing() throws IOException {
        String secret = Files.readString(dataDir.resolve("secrets").resolve("jwt.key")).strip();
        Set<Path> before = OnnxExternalDataIT.files(dataDir);
        byte[] zip = RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/onnx/model.onnx", fixture("external_secret.onnx"))
                .bytes();

        HttpResponse<String> r = server.upload("stealer", "repo.zip", zip);

        assertProblem(r, 422, "invalid-model", "External data may only name files uploaded with the model");
        assertThat(r.body()).doesNotContain(secret.substring(0, 16)).doesNotContain(dataDir.toString());
        assertThat(server.get("/api/v1/models/stealer").statusCode()).isEqualTo(404);
        assertThat(OnnxExternalDataIT.files(dataDir)).as("no artifact, staged upload or load directory is left").isEqualTo(before);
    }

    @Test
    void aTokenizerJsonThatIsNotATokenizerOrAHugeConfigJsonIsRefused() {
        HttpResponse<String> fake = server.upload("fake-tokenizer", "repo.zip", RepoZip.of("bert-tiny-sst2")
                .with("bert-tiny-sst2/tokenizer.json", "[1, 2, 3]".getBytes(StandardCharsets.UTF_8)).bytes());
        assertProblem(fake, 422, "invalid-model", "tokenizer.json is not a Hugging Face tokenizer");

        byte[] huge = ("{\"architectures\": [\"BertForSequenceClassification\"], \"x\": \""
                + " ".repeat(2 << 20) + "\"}").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> big = server.upload("huge-config", "repo.zip", RepoZip.of("bert-tiny-sst2")
                .with("bert-tiny-sst2/config.json", huge).bytes());
        assertProblem(big, 422, "invalid-model", "config.json is " + huge.length + " bytes");

        HttpResponse<String> other = server.upload("nsp", "repo.zip", RepoZip.of("bert-tiny-ner")
                .with("serveml.json", "{\"task\": \"summarization\"}".getBytes(StandardCharsets.UTF_8)).bytes());
        assertProblem(other, 422, "unsupported-model-format", "the text runtime serves text-classification, "
                + "token-classification, feature-extraction, fill-mask, question-answering, zero-shot-classification, "
                + "text-ranking");
        assertThat(server.get("/api/v1/models/huge-config").statusCode()).isEqualTo(404);
    }

    private static JsonNode predict(String body) {
        HttpResponse<String> r = server.postJson("/api/v1/models/sst2/predict", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode answer = json(r);
        assertThat(answer.isArray()).as(r.body()).isTrue();
        return answer;
    }

    private static double[] softmax(double[] logits) {
        double a = Math.exp(logits[0]);
        double b = Math.exp(logits[1]);
        return new double[]{a / (a + b), b / (a + b)};
    }
}
