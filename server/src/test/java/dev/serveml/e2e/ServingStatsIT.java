package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The serving statistics over HTTP: an ordinary owner (no admin scope) reads their model's and
 * deployment's figures after calls, another tenant gets the 404 a missing name gets, and a
 * deleted deployment's figures are gone when one of the same name comes back.
 */
class ServingStatsIT {
    static final String ROW = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static String owner;
    static String other;

    @BeforeAll
    static void start() {
        server = shared.server();
        owner = server.newUser("stats-owner");
        other = server.newUser("stats-other");
        server.useCredential(owner);
        assertThat(server.upload("counted", "iris.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        HttpResponse<String> d = server.postJson("/api/v1/deployments", "{\"name\": \"counted-web\", \"model\": "
                + "\"counted\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(d.statusCode()).as(d.body()).isEqualTo(201);
        server.awaitDeployment("counted-web", "active");
    }

    @Test
    void theOwnerSeesCallsErrorsAndCacheHitsOfTheirModelAndDeployment() {
        for (int i = 0; i < 3; i++) {
            assertThat(server.postJson("/api/v1/models/counted/predict", ROW).statusCode()).isEqualTo(200);
        }
        assertThat(server.postJson("/api/v1/models/counted/predict", "{\"features\": [1]}").statusCode())
                .isEqualTo(422);
        assertThat(server.postJson("/api/v1/deployments/counted-web/predict", ROW).statusCode()).isEqualTo(200);

        JsonNode model = json(server.get("/api/v1/models/counted/stats"));
        assertThat(model.get("step_seconds").asInt()).isEqualTo(10);
        assertThat(model.get("window_seconds").asInt()).isEqualTo(3600);
        // The model counts its own routes and its deployment's calls.
        assertThat(sum(model, "requests")).isEqualTo(5);
        assertThat(sum(model, "client_errors")).isEqualTo(1);
        assertThat(sum(model, "errors")).isZero();
        // The same row twice: the response cache answers the repeats.
        assertThat(sum(model, "cache_hits")).isGreaterThanOrEqualTo(2);
        assertThat(model.at("/summary/requests").asInt()).isEqualTo(5);
        assertThat(model.at("/summary/requests_per_minute").asDouble()).isPositive();
        assertThat(model.at("/summary/p95_ms").asDouble()).isPositive();
        assertThat(model.at("/summary/error_rate").asDouble()).isZero();
        JsonNode last = model.get("points").get(model.get("points").size() - 1);
        assertThat(last.get("at").asText()).endsWith("0Z");
        assertThat(last.has("p50_ms") && last.has("p99_ms")).isTrue();

        JsonNode deployment = json(server.get("/api/v1/deployments/counted-web/stats"));
        assertThat(sum(deployment, "requests")).isEqualTo(1);
        assertThat(deployment.at("/summary/cache_hit_rate").isNumber()).isTrue();
    }

    @Test
    void anotherTenantIsToldTheNamesDoNotExist() {
        server.useCredential(other);
        try {
            assertProblem(server.get("/api/v1/models/counted/stats"), 404, "model-not-found", "counted");
            assertProblem(server.get("/api/v1/deployments/counted-web/stats"), 404, "deployment-not-found",
                    "counted-web");
            assertProblem(server.get("/api/v1/models/nothing-by-this-name/stats"), 404, "model-not-found",
                    "nothing-by-this-name");
        } finally {
            server.useCredential(owner);
        }
        HttpResponse<String> anonymous = server.sendRaw(HttpRequest.newBuilder(
                server.uri("/api/v1/models/counted/stats")).GET().build());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }

    @Test
    void aDeploymentDeletedAndMadeAgainStartsWithNoFigures() {
        // A model of its own, so that the other test's counts of "counted" stay exact.
        assertThat(server.upload("reborn-model", "iris.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        HttpResponse<String> d = server.postJson("/api/v1/deployments", "{\"name\": \"reborn\", \"model\": "
                + "\"reborn-model\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(d.statusCode()).as(d.body()).isEqualTo(201);
        server.awaitDeployment("reborn", "active");
        assertThat(server.postJson("/api/v1/deployments/reborn/predict", ROW).statusCode()).isEqualTo(200);
        assertThat(sum(json(server.get("/api/v1/deployments/reborn/stats")), "requests")).isEqualTo(1);

        assertThat(server.delete("/api/v1/deployments/reborn").statusCode()).isEqualTo(200);
        assertThat(server.postJson("/api/v1/deployments", "{\"name\": \"reborn\", \"model\": \"reborn-model\", "
                + "\"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}").statusCode()).isEqualTo(201);
        JsonNode fresh = json(server.get("/api/v1/deployments/reborn/stats"));
        assertThat(fresh.get("points")).isEmpty();
        assertThat(fresh.at("/summary/requests").asInt()).isZero();
        assertThat(fresh.at("/summary/p95_ms").isNull()).isTrue();
    }

    private static long sum(JsonNode report, String field) {
        long total = 0;
        for (JsonNode p : report.get("points")) {
            total += p.get(field).asLong();
        }
        return total;
    }
}
