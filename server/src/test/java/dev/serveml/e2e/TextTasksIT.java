package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.util.Collections;
import java.util.Map;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Issue 14: each text task's fixture uploaded as a zip over real HTTP, called with Hugging Face's
 * request shapes on the native route (answers in Hugging Face's shapes, equal to the torch
 * reference in expected.json) and with typed tensors over V2; bad inputs per task are 422s naming
 * the field, and the model still answers after them.
 */
class TextTasksIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static JsonNode expected;
    /** Model name per fixture: global on the shared server, so prefixed. */
    private static final Map<String, String> MODELS = Map.of("tt-ner", "bert-tiny-ner", "tt-squad", "bert-tiny-squad",
            "tt-mlm", "bert-tiny-mlm", "tt-nli", "bert-tiny-nli", "tt-rerank", "bert-tiny-rerank",
            "tt-encoder", "bert-tiny-encoder");

    @BeforeAll
    static void start() {
        server = shared.server();
        try {
            expected = new ObjectMapper().readTree(TextTasksIT.class.getResource("/fixtures/hf/expected.json"))
                    .path("tasks");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        MODELS.forEach((name, fixture) -> {
            HttpResponse<String> r = server.upload(name, fixture + ".zip", RepoZip.of(fixture).bytes());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        });
    }

    @Test
    void eachVersionShowsItsTaskAndSignature() {
        Map<String, String> tasks = Map.of("tt-ner", "token-classification", "tt-squad", "question-answering",
                "tt-mlm", "fill-mask", "tt-nli", "zero-shot-classification", "tt-rerank", "text-ranking",
                "tt-encoder", "feature-extraction");
        tasks.forEach((name, task) -> {
            JsonNode v = json(server.get("/api/v1/models/" + name + "/versions/1"));
            assertThat(v.at("/metadata/task").asText()).as(name).isEqualTo(task);
            assertThat(v.at("/metadata/labels").isArray()).isTrue();
            assertThat(v.at("/metadata/max_length").asInt()).isEqualTo(64);
            assertThat(v.at("/metadata/tokenizer").asText()).isEqualTo("WordPiece");
        });
        assertThat(json(server.get("/api/v1/models/tt-squad/versions/1")).at("/signature/inputs/1/name").asText())
                .isEqualTo("context");
    }

    @Test
    void tokenClassificationAnswersEntitiesWithOffsetsIntoTheOriginalText() {
        JsonNode c = expected.at("/token-classification/cases/6"); // simple, "Mary works at the Café in London."
        JsonNode answer = predict("tt-ner", "{\"inputs\": " + c.get("inputs") + ", \"parameters\": "
                + c.get("parameters") + "}");
        assertSameAnswer(answer, c.get("answer"));
        JsonNode list = predict("tt-ner", "{\"inputs\": [" + c.get("inputs") + ", \"good\"], \"parameters\": "
                + c.get("parameters") + "}");
        assertThat(list.size()).isEqualTo(2);
        assertSameAnswer(list.get(0), c.get("answer"));
    }

    @Test
    void questionAnsweringTakesOneObjectOrAListAndSplitsLongContextsIntoWindows() {
        JsonNode one = expected.at("/question-answering/cases/0");
        assertSameAnswer(predict("tt-squad", "{\"inputs\": " + one.get("inputs") + "}"), one.get("answer"));
        JsonNode windows = expected.at("/question-answering/cases/5");
        JsonNode list = predict("tt-squad", "{\"inputs\": [" + one.get("inputs") + ", " + windows.get("inputs")
                + "], \"parameters\": {\"max_seq_len\": 32, \"doc_stride\": 8}}");
        assertThat(list.size()).isEqualTo(2);
        assertThat(list.at("/1/answer").asText()).isEqualTo(windows.at("/answer/0/answer").asText());
        assertThat(list.at("/1/start").asInt()).isEqualTo(windows.at("/answer/0/start").asInt());
    }

    @Test
    void fillMaskZeroShotRankingAndEmbeddingsAnswerInHuggingFacesShapes() {
        JsonNode mask = expected.at("/fill-mask/cases/3");
        assertSameAnswer(predict("tt-mlm", "{\"inputs\": " + mask.get("inputs") + ", \"parameters\": "
                + mask.get("parameters") + "}"), mask.get("answer"));

        JsonNode zero = expected.at("/zero-shot-classification/cases/0");
        assertSameAnswer(predict("tt-nli", "{\"inputs\": " + zero.get("inputs")
                + ", \"parameters\": {\"candidate_labels\": \"good, bad, boring\"}}"), zero.get("answer"));

        JsonNode rank = expected.at("/text-ranking/cases/0");
        assertSameAnswer(predict("tt-rerank", "{\"inputs\": " + rank.get("inputs") + "}"), rank.get("answer"));
        JsonNode pairs = predict("tt-rerank", "{\"inputs\": [{\"text\": " + rank.at("/inputs/query") + ", \"text_pair\": "
                + rank.at("/inputs/texts/0") + "}]}");
        assertThat(pairs.at("/0/index").asInt()).isZero();
        assertThat(pairs.at("/0/score").asDouble()).isCloseTo(rank.at("/answer/1/score").asDouble(), within(1e-4));

        JsonNode embedding = expected.at("/feature-extraction/cases/0");
        JsonNode vector = predict("tt-encoder", "{\"inputs\": " + embedding.get("inputs") + "}");
        assertSameAnswer(vector, embedding.get("answer"));
        JsonNode vectors = predict("tt-encoder", "{\"inputs\": [" + embedding.get("inputs") + ", \"x\"]}");
        assertThat(vectors.size()).isEqualTo(2);
        assertSameAnswer(vectors.get(0), embedding.get("answer"));
    }

    @Test
    void theV2ProtocolGetsEachTasksTypedOutputs() {
        HttpResponse<String> qa = server.postJson("/v2/models/tt-squad/infer", "{\"inputs\": ["
                + "{\"name\": \"question\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"Where does John live?\"]},"
                + "{\"name\": \"context\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"John Smith lives in Paris.\"]}]}");
        assertThat(qa.statusCode()).as(qa.body()).isEqualTo(200);
        JsonNode answer = json(qa).at("/outputs/0");
        assertThat(answer.get("name").asText()).isEqualTo("answer");
        assertThat(answer.get("datatype").asText()).isEqualTo("BYTES");
        assertSameAnswer(json(answer.at("/data/0").asText()), expected.at("/question-answering/cases/0/answer"));

        HttpResponse<String> embed = server.postJson("/v2/models/tt-encoder/infer", "{\"inputs\": [{\"name\": \"text\", "
                + "\"shape\": [2], \"datatype\": \"BYTES\", \"data\": [\"I loved this movie!\", \"x\"]}]}");
        assertThat(embed.statusCode()).as(embed.body()).isEqualTo(200);
        assertThat(json(embed).at("/outputs/0/shape")).isEqualTo(json("[2, 32]"));
        assertThat(json(embed).at("/outputs/0/data/0").asDouble())
                .isCloseTo(expected.at("/feature-extraction/cases/0/answer/0").asDouble(), within(1e-4));
        assertThat(squaredNorm(json(embed).at("/outputs/0/data"), 32)).isCloseTo(1.0, within(1e-4));

        // The request's parameters reach the model over V2 too; the protocol's own names are not the model's.
        HttpResponse<String> raw = server.postJson("/v2/models/tt-encoder/infer", "{\"inputs\": [{\"name\": \"text\", "
                + "\"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"I loved this movie!\"]}], \"parameters\": "
                + "{\"normalize\": false, \"priority\": 1, \"sequence_id\": 0, \"binary_data_output\": false}}");
        assertThat(raw.statusCode()).as(raw.body()).isEqualTo(200);
        assertThat(squaredNorm(json(raw).at("/outputs/0/data"), 32)).isNotCloseTo(1.0, within(1e-2));
        HttpResponse<String> bad = server.postJson("/v2/models/tt-encoder/infer", "{\"inputs\": [{\"name\": \"text\", "
                + "\"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"x\"]}], \"parameters\": {\"pooling\": \"max\"}}");
        assertThat(bad.statusCode()).isBetween(400, 422);
        assertThat(json(bad).get("error").asText()).contains("pooling");
    }

    private static double squaredNorm(JsonNode data, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += data.get(i).asDouble() * data.get(i).asDouble();
        }
        return sum;
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "tt-ner    | {\"inputs\": \"fine\", \"parameters\": {\"aggregation_strategy\": \"average\"}} | /parameters/aggregation_strategy | none, simple, first or max",
            "tt-ner    | {\"inputs\": [\"fine\", \"\"]}                                              | /inputs/1                        | the text is empty",
            "tt-squad  | {\"inputs\": {\"question\": \"\", \"context\": \"a context\"}}              | /inputs/0/question               | the text is empty",
            "tt-squad  | {\"inputs\": [{\"question\": \"q\", \"context\": 5}]}                       | /inputs/0/context                | a string",
            "tt-squad  | {\"inputs\": {\"question\": \"q\", \"context\": \"c\"}, \"parameters\": {\"top_k\": 0}} | /parameters/top_k   | a whole number",
            "tt-mlm    | {\"inputs\": \"no mask in this text\"}                                      | /inputs/0                        | [MASK]",
            "tt-mlm    | {\"inputs\": \"the [MASK]\", \"parameters\": {\"targets\": [\"zzzq\"]}}      | /parameters/targets              | not a token",
            "tt-nli    | {\"inputs\": \"fine\"}                                                      | /parameters/candidate_labels     | send the candidate labels",
            "tt-nli    | {\"inputs\": \"fine\", \"parameters\": {\"candidate_labels\": \"a\", \"top_k\": 1}} | /parameters/top_k      | unknown parameter",
            "tt-rerank | {\"inputs\": {\"query\": \"q\", \"texts\": [\"a\", \"\"]}}                  | /inputs/1/text_pair              | the text is empty",
            "tt-encoder| {\"inputs\": \"fine\", \"parameters\": {\"pooling\": \"max\"}}              | /parameters/pooling              | mean (the default) or cls",
            "tt-encoder| {\"inputs\": [\"fine\", 7]}                                                 | /inputs/1                        | BYTES",
    })
    void badInputsPerTaskAre422sNamingTheFieldAndTheModelStillAnswers(String model, String body, String pointer,
                                                                      String detail) {
        HttpResponse<String> r = server.postJson("/api/v1/models/" + model + "/predict", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        JsonNode problem = json(r);
        assertThat(problem.get("detail").asText() + problem.get("errors")).contains(detail);
        assertThat(problem.at("/errors/0/pointer").asText()).isEqualTo(pointer);
        String good = switch (model) {
            case "tt-squad" -> "{\"inputs\": {\"question\": \"Who?\", \"context\": \"John lives in Paris.\"}}";
            case "tt-mlm" -> "{\"inputs\": \"I [MASK] this movie!\"}";
            case "tt-nli" -> "{\"inputs\": \"fine\", \"parameters\": {\"candidate_labels\": [\"good\", \"bad\"]}}";
            case "tt-rerank" -> "{\"inputs\": {\"query\": \"q\", \"texts\": [\"a\", \"b\"]}}";
            default -> "{\"inputs\": \"fine\"}";
        };
        predict(model, good);
    }

    @Test
    void aTooLongTextWithTruncationOffOrTooManyTextsIsA422() {
        HttpResponse<String> r = server.postJson("/api/v1/models/tt-encoder/predict", "{\"inputs\": \""
                + "word ".repeat(100) + "\", \"parameters\": {\"truncation\": false}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(json(r).at("/errors/0/pointer").asText()).isEqualTo("/inputs/0");
        String many = String.join(", ", Collections.nCopies(257, "\"a [MASK]\""));
        HttpResponse<String> m = server.postJson("/api/v1/models/tt-mlm/predict", "{\"inputs\": [" + many + "]}");
        assertThat(m.statusCode()).as(m.body()).isEqualTo(422);
        assertThat(json(m).at("/errors/0/pointer").asText()).isEqualTo("/inputs");
        assertThat(predict("tt-encoder", "{\"inputs\": \"" + "word ".repeat(100) + "\"}").size())
                .as("truncated by default").isEqualTo(32);
    }

    private static JsonNode predict(String model, String body) {
        HttpResponse<String> r = server.postJson("/api/v1/models/" + model + "/predict", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    /** Whole numbers and strings exactly, other numbers within 1e-4. */
    private static void assertSameAnswer(JsonNode actual, JsonNode expected) {
        if (expected.isNumber() && !expected.isIntegralNumber()) {
            assertThat(actual.asDouble()).isCloseTo(expected.asDouble(), within(1e-4));
        } else if (expected.isContainerNode()) {
            assertThat(actual.size()).as("%s vs %s", actual, expected).isEqualTo(expected.size());
            if (expected.isArray()) {
                for (int i = 0; i < expected.size(); i++) {
                    assertSameAnswer(actual.get(i), expected.get(i));
                }
            } else {
                expected.properties().forEach(e -> assertSameAnswer(actual.path(e.getKey()), e.getValue()));
            }
        } else {
            assertThat(actual).as("%s vs %s", actual, expected).isEqualTo(expected);
        }
    }
}
