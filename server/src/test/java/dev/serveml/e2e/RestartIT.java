package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Everything registered survives a stop and a start on the same data directory. */
class RestartIT {
    @TempDir
    Path dataDir;

    @Test
    void modelsVersionsStatesAndArtifactsSurviveARestart() {
        try (TestServer server = TestServer.start(dataDir)) {
            assertThat(server.upload("kept", "v1.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            assertThat(server.upload("kept", "v2.onnx", fixture("iris_zipmap.onnx")).statusCode()).isEqualTo(201);
            server.patchJson("/api/v1/models/kept/versions/2", "{\"state\": \"deprecated\"}");
            String before = server.get("/api/v1/models/kept/versions").body();

            server.restart();

            assertThat(json(server.get("/api/v1/models/kept/versions"))).isEqualTo(json(before).deepCopy()
                    .<com.fasterxml.jackson.databind.node.ObjectNode>deepCopy()
                    .set("items", withLoaded(json(before).get("items"))));
            JsonNode answer = json(server.postJson("/api/v1/models/kept/predict", "{\"features\": [6.7, 3.0, 5.2, 2.3]}"));
            assertThat(answer.get("version").asInt()).isEqualTo(1);
            assertThat(answer.get("predictions").get(0).get("label").asLong()).isEqualTo(2);
            assertThat(server.upload("kept", "v3.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            assertThat(json(server.get("/api/v1/models/kept")).get("latest_version").asInt()).isEqualTo(3);
        }
    }

    /** After a restart nothing is in memory until first use. */
    private static JsonNode withLoaded(JsonNode items) {
        com.fasterxml.jackson.databind.node.ArrayNode copy = items.deepCopy();
        copy.forEach(v -> ((com.fasterxml.jackson.databind.node.ObjectNode) v).put("loaded", false));
        return copy;
    }
}
