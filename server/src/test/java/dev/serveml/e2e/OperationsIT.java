package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.http.HttpApi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Health, Prometheus metrics, the OpenAPI description held to the real routes, and Swagger UI from the JAR. */
class OperationsIT {
    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void healthSaysUpWithTheDatabaseChecked() {
        HttpResponse<String> live = server.get("/health/live");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(json(live)).isEqualTo(json("{\"status\":\"UP\"}"));
        HttpResponse<String> ready = server.get("/health/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        JsonNode body = json(ready);
        assertThat(body.get("status").asText()).isEqualTo("UP");
        assertThat(body.get("checks")).isEqualTo(json(
                "{\"database\":\"UP\",\"rate_limits\":\"local\",\"models\":\"UP\"}"));
        assertThat(java.time.Instant.parse(body.get("checked_at").asText()))
                .isBefore(java.time.Instant.now().plusSeconds(1));
    }

    @Test
    void theOpenApiDescriptionListsExactlyTheRoutesThatExist() {
        JsonNode spec = json(server.get("/openapi.json"));
        assertThat(spec.get("openapi").asText()).startsWith("3.1");
        Set<String> described = new TreeSet<>();
        for (Iterator<String> paths = spec.get("paths").fieldNames(); paths.hasNext(); ) {
            String path = paths.next();
            spec.get("paths").get(path).fieldNames().forEachRemaining(method -> {
                if (Set.of("get", "put", "post", "delete", "patch", "head", "options").contains(method)) {
                    described.add(method.toUpperCase(Locale.ROOT) + " " + path);
                }
            });
        }
        Set<String> routed = new TreeSet<>();
        for (HttpApi.Endpoint e : server.server().api().endpoints()) {
            if (!e.path().endsWith("*")) {
                routed.add(e.method().name() + " " + e.openApiPath());
            }
        }
        assertThat(described).isEqualTo(routed);
    }

    @Test
    void metricsCountRequestsByRouteAndTimeInferenceByModelAndVersion() {
        assertThat(server.upload("metered", "m.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        server.postJson("/api/v1/models/metered/predict", "{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        server.postJson("/api/v1/models/metered/predict", "{\"features\": [5.1]}");
        HttpResponse<String> r = server.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
        String text = r.body();
        assertThat(text).contains(
                "serveml_http_requests_seconds_count{method=\"POST\",route=\"/api/v1/models/{name}/predict\",status=\"200\"} 1",
                "serveml_http_requests_seconds_count{method=\"POST\",route=\"/api/v1/models/{name}/predict\",status=\"422\"} 1",
                "serveml_http_requests_seconds_bucket{method=\"POST\",route=\"/api/v1/models/{name}/predict\",status=\"200\",le=\"0.01\"}",
                "serveml_inference_seconds_count{model=\"metered\",version=\"1\"} 1",
                "serveml_models_loaded ");
        // Loading happens at upload (validation keeps the session); a restart-time load is timed too.
        server.restart();
        server.postJson("/api/v1/models/metered/predict", "{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        String after = server.get("/metrics").body();
        assertThat(after).contains("serveml_model_load_seconds_count{model=\"metered\",version=\"1\"} 1",
                "serveml_models_loaded 1.0");
    }

    @Test
    void swaggerUiIsServedFromTheJar() {
        HttpResponse<String> page = server.get("/docs");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("SwaggerUIBundle", "/openapi.json");
        HttpResponse<String> bundle = server.get("/docs/swagger-ui-bundle.js");
        assertThat(bundle.statusCode()).isEqualTo(200);
        assertThat(bundle.body().length()).isGreaterThan(100_000);
        assertThat(server.get("/docs/swagger-ui.css").statusCode()).isEqualTo(200);
    }

    @Test
    void theDashboardsIconIsServedToBrowsersThatAskForIt() {
        HttpResponse<byte[]> icon = server.sendBytes(java.net.http.HttpRequest.newBuilder(server.uri("/favicon.ico"))
                .build());
        assertThat(icon.statusCode()).isEqualTo(200);
        assertThat(icon.headers().firstValue("Content-Type")).contains("image/x-icon");
        assertThat(icon.body()).startsWith(0, 0, 1, 0).hasSizeGreaterThan(22);
    }

    @Test
    void theOpenApiDescriptionNamesEveryFormatAndDeclaresEachTagOnce() {
        JsonNode spec = json(server.get("/openapi.json"));
        assertThat(spec.get("info").get("description").asText()).doesNotContain("uploaded as ONNX files")
                .contains("TorchScript", "XGBoost", "handler.py");
        java.util.List<String> declared = new java.util.ArrayList<>();
        spec.get("tags").forEach(t -> declared.add(t.get("name").asText()));
        Set<String> used = new TreeSet<>();
        spec.get("paths").forEach(p -> p.forEach(op -> op.path("tags").forEach(t -> used.add(t.asText()))));
        assertThat(declared).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(used);
    }
}
