package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Four deployments sharing a memory budget that holds about one model: concurrent callers
 * keep evicting each other's versions and never see an unloaded model, while a deployment with
 * min_instances 1 stays loaded throughout.
 */
class DeploymentEvictionIT {
    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir, Map.of("SERVEML_MODEL_MEMORY", "1KB"));
        for (String name : List.of("e1", "e2", "e3", "e4", "kept")) {
            assertThat(server.upload(name, "m.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            String config = name.equals("kept") ? "{\"min_instances\": 1}" : "{}";
            HttpResponse<String> r = server.postJson("/api/v1/deployments", "{\"name\": \"d-" + name + "\", \"model\": \""
                    + name + "\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": " + config + "}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            server.awaitDeployment("d-" + name, "active");
        }
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void concurrentCallersUnderATinyBudgetAllGetAnswersWhileVersionsAreEvicted() throws Exception {
        double before = evictions();
        // One caller in turn first: each load has an idle version to evict (when callers overlap,
        // every other version may be held at the instant a load looks, and then none can go).
        for (String d : List.of("d-e1", "d-e2", "d-e3", "d-e4")) {
            HttpResponse<String> r = server.postJson("/api/v1/deployments/" + d + "/predict",
                    "{\"features\": [6.3, 3.3, 6.0, 2.5]}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        assertThat(evictions()).isGreaterThan(before);
        List<CompletableFuture<List<String>>> callers = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            callers.add(CompletableFuture.supplyAsync(() -> {
                List<String> failures = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    String d = "d-e" + (1 + ThreadLocalRandom.current().nextInt(4));
                    HttpResponse<String> r = server.postJson("/api/v1/deployments/" + d + "/predict",
                            "{\"features\": [6.3, 3.3, 6.0, 2.5]}");
                    if (r.statusCode() != 200 || json(r).get("predictions").get(0).get("label").asLong() != 2) {
                        failures.add(d + ": " + r.statusCode() + " " + r.body());
                    }
                }
                return failures;
            }));
        }
        List<String> failures = new ArrayList<>();
        for (CompletableFuture<List<String>> c : callers) {
            failures.addAll(c.get());
        }
        assertThat(failures).isEmpty();
        JsonNode kept = json(server.get("/api/v1/deployments/d-kept"));
        assertThat(kept.get("versions").get(0).get("loaded").asBoolean()).isTrue();
        assertThat(server.get("/metrics").body()).doesNotContain("serveml_model_evictions_total{model=\"kept\"");
    }

    private static double evictions() {
        Matcher m = Pattern.compile("(?m)^serveml_model_evictions_total\\{[^}]*\\} ([0-9.E]+)$")
                .matcher(server.get("/metrics").body());
        double total = 0;
        while (m.find()) {
            total += Double.parseDouble(m.group(1));
        }
        return total;
    }
}
