package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.serveml.e2e.Fixtures.firstDoubled;
import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A deployment's config reaches the versions it serves: the Python workers' count and
 * environment, the queue's batching, and a change of resources loads the version again while
 * calls keep being answered. The model is the custom handler fixture: doubled = x * 2 + bias,
 * where the worker's HANDLER_BIAS replaces the 0.5 of weights.json. Each test deploys its own
 * model, since a version shared by two deployments takes the config deployed last.
 */
class DeploymentConfigIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        server = shared.server();
    }

    static void uploadHandler(String model) {
        HttpResponse<String> r = server.upload(model, "handler_model.zip", fixture("python/handler_model.zip"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    static HttpResponse<String> deploy(String name, String model, String config) {
        return server.postJson("/api/v1/deployments", "{\"name\": \"" + name + "\", \"model\": \"" + model
                + "\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": " + config + "}");
    }

    static HttpResponse<String> predict(String deployment) {
        return server.postJson("/api/v1/deployments/" + deployment + "/predict", "{\"instances\": [[1.0, 2.0]]}");
    }

    @Test
    void theWorkersRunWithTheDeploymentsEnvironmentAndCount() {
        uploadHandler("doubler-env");
        assertThat(deploy("doubler-ten", "doubler-env", "{\"instances\": 3, \"env\": {\"HANDLER_BIAS\": \"10\"}}")
                .statusCode()).isEqualTo(201);

        JsonNode d = server.awaitDeployment("doubler-ten", "active");

        assertThat(d.get("config").get("instances").asInt()).isEqualTo(3);
        assertThat(d.get("config").get("env").get("HANDLER_BIAS").asText()).isEqualTo("10");
        assertThat(d.get("versions").get(0).get("instances").asInt()).isEqualTo(3);
        assertThat(firstDoubled(predict("doubler-ten"))).isEqualTo(12.0);
        List<JsonNode> events = server.deploymentEvents("doubler-ten");
        assertThat(events).anySatisfy(e -> {
            assertThat(e.get("step").asText()).isEqualTo("built");
            assertThat(e.get("message").asText()).contains("environment for 1 requirement(s) ready (cached)");
        });
        assertThat(events).anySatisfy(e -> assertThat(e.get("message").asText())
                .contains("3 instance(s), env HANDLER_BIAS"));
    }

    @Test
    void newResourcesLoadTheVersionAgainWhileEveryCallIsAnswered() throws Exception {
        uploadHandler("doubler-live");
        deploy("doubler-live", "doubler-live", "{\"env\": {\"HANDLER_BIAS\": \"1\"}}");
        server.awaitDeployment("doubler-live", "active");
        assertThat(firstDoubled(predict("doubler-live"))).isEqualTo(3.0);

        Set<String> answers = ConcurrentHashMap.newKeySet();
        List<String> failures = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread caller = Thread.ofVirtual().start(() -> {
            for (int i = 0; i < 2_000 && !stop.get(); i++) { // bounded: stops on its own
                HttpResponse<String> r = predict("doubler-live");
                if (r.statusCode() == 200) {
                    answers.add(json(r).get("predictions").get(0).get("doubled").get(0).asText());
                } else {
                    synchronized (failures) {
                        failures.add(r.statusCode() + " " + r.body());
                    }
                }
            }
        });
        HttpResponse<String> patched = server.patchJson("/api/v1/deployments/doubler-live",
                "{\"config\": {\"env\": {\"HANDLER_BIAS\": \"2\"}, \"instances\": 2}}");
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
        JsonNode d = server.awaitDeployment("doubler-live", "active");
        stop.set(true);
        caller.join(Duration.ofSeconds(30));

        assertThat(firstDoubled(predict("doubler-live"))).isEqualTo(4.0);
        assertThat(d.get("versions").get(0).get("instances").asInt()).isEqualTo(2);
        assertThat(failures).as("no call failed during the reload").isEmpty();
        assertThat(answers).isSubsetOf("3.0", "4.0");
        assertThat(server.deploymentEvents("doubler-live")).anySatisfy(e -> assertThat(
                e.get("message").asText()).contains("loading doubler-live v1 again with 2 instance(s)"));
    }

    @Test
    void theConfiguredBatchingStacksConcurrentCalls() throws InterruptedException {
        uploadHandler("doubler-batched");
        // One worker whose every call takes 400 ms: the first call runs alone (an idle model never
        // waits), and the seven sent while it runs queue behind it and are stacked into one call.
        deploy("doubler-batched", "doubler-batched", "{\"instances\": 1, \"max_batch_size\": 16, "
                + "\"max_queue_delay\": \"2s\", \"env\": {\"HANDLER_SLEEP_MS\": \"400\"}}");
        server.awaitDeployment("doubler-batched", "active");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            if (i == 1) {
                // Let time pass so the first call is running before the others are sent: nothing the
                // server exposes says a call reached its worker.
                Thread.sleep(100);
            }
            calls.add(client.sendAsync(HttpRequest.newBuilder(server.uri("/api/v1/deployments/doubler-batched/predict"))
                    .header("Authorization", "Bearer " + server.adminKey()).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"instances\": [[" + i + ", 0]]}")).build(), HttpResponse.BodyHandlers.ofString()));
        }

        for (int i = 0; i < calls.size(); i++) {
            HttpResponse<String> r = calls.get(i).join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(firstDoubled(r)).isEqualTo(2.0 * i + 0.5);
        }
        String metrics = server.get("/metrics").body();
        Matcher calls1 = Pattern.compile("serveml_batch_size_rows_count\\{model=\"doubler-batched\",version=\"1\"} "
                + "([0-9.]+)").matcher(metrics);
        Matcher rows = Pattern.compile("serveml_batch_size_rows_sum\\{model=\"doubler-batched\",version=\"1\"} "
                + "([0-9.]+)").matcher(metrics);
        assertThat(calls1.find() && rows.find()).as(metrics).isTrue();
        assertThat(Double.parseDouble(rows.group(1)) / Double.parseDouble(calls1.group(1)))
                .as("rows per model call: the warm-up, the first call alone, the other seven stacked")
                .isGreaterThanOrEqualTo(8.0 / 3);
    }

    @Test
    void reservedVariablesAndTinyMemoryLimitsAreRefusedNamingTheField() {
        uploadHandler("doubler-refused");
        JsonNode p = assertProblem(deploy("bad-env", "doubler-refused", "{\"env\": {\"PYTHONPATH\": \"/tmp\"}}"), 422,
                "invalid-deployment", "PYTHONPATH is set by ServeML");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/env/PYTHONPATH");
        p = assertProblem(deploy("bad-env", "doubler-refused", "{\"env\": {\"SERVEML_JWT_SECRET\": \"x\"}}"), 422,
                "invalid-deployment", "SERVEML_");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/env/SERVEML_JWT_SECRET");
        p = assertProblem(deploy("bad-memory", "doubler-refused", "{\"memory_limit\": \"1MB\"}"), 422,
                "invalid-deployment", "at least 64MB");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/memory_limit");
        assertThat(server.get("/api/v1/deployments/bad-env").statusCode()).isEqualTo(404);
    }

    @Test
    void everyDeploymentChangeIsInTheAuditLog() {
        uploadHandler("doubler-audit");
        deploy("doubler-audit", "doubler-audit", "{}");
        server.awaitDeployment("doubler-audit", "active");
        server.patchJson("/api/v1/deployments/doubler-audit", "{\"config\": {\"max_batch_size\": 4}}");
        server.awaitDeployment("doubler-audit", "active");
        server.delete("/api/v1/deployments/doubler-audit");

        JsonNode log = json(server.get("/api/v1/audit?limit=500"));
        List<String> actions = new ArrayList<>();
        log.get("items").forEach(e -> {
            if (e.get("target").asText().equals("deployment:doubler-audit")) {
                actions.add(e.get("action").asText());
            }
        });
        assertThat(actions).contains("deployment.created", "deployment.updated", "deployment.deleted");
    }
}
