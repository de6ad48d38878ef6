package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.Problems.assertV2Error;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 11 #7: a model answer is bounded in elements and bytes, and an empty answer with a huge
 * dimension ({@code ConstantOfShape} to {@code [10^12, 0]}) costs nothing to answer, on every
 * protocol, while other models on the same server keep answering.
 */
class OutputBoundsIT {
    private static final long TRILLION = 1_000_000_000_000L;

    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir, Map.of("SERVEML_MAX_OUTPUT_ELEMENTS", "1000000",
                "SERVEML_MAX_RESPONSE_SIZE", "1MB"));
        server.useCredential(server.newUser("tenant"));
        assertThat(server.upload("fill", "constant_of_shape.onnx", fixture("constant_of_shape.onnx")).statusCode())
                .isEqualTo(201);
        assertThat(server.upload("iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aTrillionEmptyRowsAnswerAtOnceOverV2WithTheirShapeAndNoData() {
        HttpResponse<String> r = v2(TRILLION, 0, false);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("outputs")).isEqualTo(json(
                "[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1000000000000,0],\"data\":[]}]"));
        HttpResponse<byte[]> binary = v2Binary(TRILLION, 0);
        assertThat(binary.statusCode()).isEqualTo(200);
        int header = Integer.parseInt(binary.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        assertThat(binary.body().length).as("no binary bytes follow an empty output").isEqualTo(header);
    }

    @Test
    void aTrillionEmptyRowsNestedInNativeJsonAreRefusedBeforeAnyIsWritten() {
        assertProblem(predict("{\"inputs\": {\"shape\": [1000000000000, 0]}}"), 500, "output-too-large",
                "larger than this server sends (1048576 bytes");
        assertProblem(predict("{\"features\": [1000000000000, 0]}"), 500, "output-too-large", "1048576 bytes");
    }

    @Test
    void smallEmptyOutputsAreWrittenAsNestedEmptyArrays() {
        assertThat(json(predict("{\"inputs\": {\"shape\": [3, 0]}}")).get("outputs").get("y"))
                .isEqualTo(json("[[],[],[]]"));
        assertThat(json(predict("{\"inputs\": {\"shape\": [0, 1000000000000]}}")).get("outputs").get("y"))
                .isEqualTo(json("[]"));
        assertThat(json(predict("{\"features\": [2, 0]}")).get("predictions"))
                .isEqualTo(json("[{\"y\":[]},{\"y\":[]}]"));
    }

    @Test
    void anAnswerWithMoreElementsThanTheBoundIsAProblemOnEveryProtocol() {
        assertProblem(predict("{\"inputs\": {\"shape\": [2000, 1000]}}"), 500, "output-too-large",
                "more than 1000000 elements (output 'y' has shape [2000, 1000])");
        assertV2Error(v2(2000, 1000, false), 500, "more than 1000000 elements");
        assertV2Error(v2(2000, 1000, true), 500, "more than 1000000 elements");
    }

    @Test
    void anAnswerThatEncodesPastTheByteBoundIsAProblemOnEveryProtocol() {
        // 300,000 zeros: under the element bound, but about 1.2 MB as JSON and exactly 1.2 MB binary.
        assertProblem(predict("{\"inputs\": {\"shape\": [500, 600]}}"), 500, "output-too-large", "1048576 bytes");
        assertV2Error(v2(500, 600, false), 500, "1048576 bytes");
        assertV2Error(v2(500, 600, true), 500, "1048576 bytes");
    }

    @Test
    void aLargeAnswerUnderTheBoundsIsEncodedWhole() {
        HttpResponse<String> r = predict("{\"inputs\": {\"shape\": [200, 200]}}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode y = json(r).get("outputs").get("y");
        assertThat(y.size()).isEqualTo(200);
        assertThat(y.get(199).size()).isEqualTo(200);
        assertThat(y.get(199).get(199).asDouble()).isZero();
        HttpResponse<byte[]> binary = v2Binary(256, 256);
        int header = Integer.parseInt(binary.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        assertThat(binary.body().length - header).isEqualTo(256 * 256 * 4);
    }

    @Test
    void shapesWhoseSizeOverflowsALongFailCleanlyAndTheServerKeepsAnswering() {
        HttpResponse<String> r = predict("{\"inputs\": {\"shape\": [4611686018427387904, 4]}}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(500);
        assertThat(json(r).get("code").asText()).isIn("output-too-large", "inference-failed");
        assertThat(irisLabel()).isZero();
    }

    @Test
    void otherModelsKeepAnsweringWhileTenantsAskForTrillionsOfEmptyRows() throws Exception {
        ExecutorService attackers = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> attacks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                boolean native_ = i % 2 == 0;
                attacks.add(attackers.submit(() -> {
                    int done = 0;
                    for (int n = 0; n < 25; n++) {
                        int status = native_ ? predict("{\"inputs\": {\"shape\": [1000000000000, 0]}}").statusCode()
                                : v2(TRILLION, 0, false).statusCode();
                        assertThat(status).isEqualTo(native_ ? 500 : 200);
                        done++;
                    }
                    return done;
                }));
            }
            for (int n = 0; n < 40; n++) {
                assertThat(irisLabel()).isZero();
            }
            for (Future<Integer> attack : attacks) {
                assertThat(attack.get()).isEqualTo(25);
            }
        } finally {
            attackers.shutdownNow();
        }
    }

    private static long irisLabel() {
        HttpResponse<String> r = server.postJson("/api/v1/models/iris/predict", "{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("predictions").get(0).get("label").asLong();
    }

    private static HttpResponse<String> predict(String body) {
        return server.postJson("/api/v1/models/fill/predict", body);
    }

    private static String v2Body(long rows, long cols, boolean binary) {
        return "{\"inputs\":[{\"name\":\"shape\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[" + rows + "," + cols
                + "]}]" + (binary ? ",\"parameters\":{\"binary_data_output\":true}" : "") + "}";
    }

    private static HttpResponse<String> v2(long rows, long cols, boolean binary) {
        return server.postJson("/v2/models/fill/infer", v2Body(rows, cols, binary));
    }

    private static HttpResponse<byte[]> v2Binary(long rows, long cols) {
        byte[] body = v2Body(rows, cols, true).getBytes(StandardCharsets.UTF_8);
        return server.sendBytes(HttpRequest.newBuilder(server.uri("/v2/models/fill/infer"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }
}
