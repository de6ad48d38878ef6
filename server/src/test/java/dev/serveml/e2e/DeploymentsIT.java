package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.Problems.assertV2Error;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Deployments over HTTP with ONNX models: the lifecycle and its event stream, canary and sticky
 * splits, a shadow that always fails, rollback and promotion, bad input, tenancy, V2 names and
 * Triton's repository API. Model "dep-iris": v1 and v2 the same forest, v3 a model that cannot take
 * iris rows (so it fails every call), v4 the forest with ZipMap. (Named "dep-iris": model names are
 * global on the shared server, and V2ProtocolIT has "iris".)
 */
class DeploymentsIT {
    static final String ROW = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;

    @BeforeAll
    static void start() {
        server = shared.server();
        for (String file : List.of("iris_rf.onnx", "iris_rf.onnx", "add_fixed.onnx", "iris_zipmap.onnx")) {
            HttpResponse<String> r = server.upload("dep-iris", file, fixture(file));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        }
    }

    static HttpResponse<String> deploy(String name, String policy) {
        return deploy(name, policy, "{}");
    }

    static HttpResponse<String> deploy(String name, String policy, String config) {
        return server.postJson("/api/v1/deployments", "{\"name\": \"" + name + "\", \"model\": \"dep-iris\", \"policy\": "
                + policy + ", \"config\": " + config + "}");
    }

    static JsonNode awaitStatus(String name, String status) {
        return server.awaitDeployment(name, status);
    }

    /** Reads a whole SSE stream (it ends when the deployment settles) into its data objects. */
    static List<JsonNode> events(String name) {
        return server.deploymentEvents(name);
    }

    @Test
    void aDeploymentMovesFromPendingToActiveAndItsEventStreamSaysSoToEarlyAndLateSubscribers() throws Exception {
        HttpResponse<String> created = deploy("life", "{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 2}",
                "{\"min_instances\": 1, \"timeout\": \"10s\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue("Location")).hasValue("/api/v1/deployments/life");
        JsonNode body = json(created);
        assertThat(body.get("name").asText()).isEqualTo("life");
        assertThat(body.get("model").asText()).isEqualTo("dep-iris");
        assertThat(body.get("status").asText()).isEqualTo("pending");
        assertThat(body.get("policy")).isEqualTo(json("{\"versions\":[{\"version\":1,\"weight\":100}],\"shadow\":2}"));
        assertThat(body.get("config").get("timeout_ms").asLong()).isEqualTo(10_000);
        assertThat(body.get("config").get("min_instances").asInt()).isEqualTo(1);

        List<JsonNode> early = events("life");
        List<String> steps = early.stream().map(e -> e.get("step").asText()).toList();
        assertThat(steps).containsExactly("created", "building", "loading", "loaded", "loading", "loaded", "active");
        assertThat(early.get(0).get("status").asText()).isEqualTo("pending");
        assertThat(early.get(1).get("status").asText()).isEqualTo("building");
        assertThat(early.get(2).get("status").asText()).isEqualTo("loading");
        assertThat(early.get(2).get("message").asText()).contains("dep-iris v1", "warm-up");
        JsonNode last = early.get(early.size() - 1);
        assertThat(last.get("status").asText()).isEqualTo("active");
        assertThat(last.get("percent").asInt()).isEqualTo(100);
        assertThat(last.get("message").asText()).isEqualTo("serving v1 100%, shadow v2");
        List<Integer> percents = early.stream().map(e -> e.get("percent").asInt()).toList();
        assertThat(percents).isSorted();

        // A late subscriber gets the same history and the stream ends at once.
        assertThat(events("life")).isEqualTo(early);

        JsonNode active = awaitStatus("life", "active");
        int instances = Runtime.getRuntime().availableProcessors() + 1; // the server's default for ONNX (config)
        assertThat(active.get("versions")).isEqualTo(json("[{\"version\":1,\"role\":\"primary\",\"weight\":100,"
                + "\"loaded\":true,\"instances\":" + instances + "},{\"version\":2,\"role\":\"shadow\","
                + "\"weight\":0,\"loaded\":true,\"instances\":" + instances + "}]"));
        assertThat(json(server.get("/api/v1/deployments")).get("items").findValuesAsText("name")).contains("life");

        HttpResponse<String> p = server.postJson("/api/v1/deployments/life/predict", ROW);
        assertThat(p.statusCode()).as(p.body()).isEqualTo(200);
        JsonNode answer = json(p);
        assertThat(answer.get("deployment").asText()).isEqualTo("life");
        assertThat(answer.get("model").asText()).isEqualTo("dep-iris");
        assertThat(answer.get("version").asInt()).isEqualTo(1);
        assertThat(answer.get("predictions").get(0).get("label").asLong()).isEqualTo(0);

        HttpResponse<String> deleted = server.delete("/api/v1/deployments/life");
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        assertProblem(server.get("/api/v1/deployments/life"), 404, "deployment-not-found", "life");
        assertProblem(server.postJson("/api/v1/deployments/life/predict", ROW), 404, "deployment-not-found", "life");
        // The name is free again.
        assertThat(deploy("life", "{\"versions\": [{\"version\": 1, \"weight\": 100}]}").statusCode()).isEqualTo(201);
    }

    @Test
    void aNinetyTenCanarySendsAboutATenthOfAThousandCallsToTheCanary() {
        assertThat(deploy("canary", "{\"versions\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 10}]}")
                .statusCode()).isEqualTo(201);
        awaitStatus("canary", "active");
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < 1000; i++) {
            HttpResponse<String> r = server.postJson("/api/v1/deployments/canary/predict", ROW);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            counts.merge(json(r).get("version").asInt(), 1, Integer::sum);
        }
        assertThat(counts.keySet()).containsExactlyInAnyOrder(1, 2);
        assertThat(counts.get(2)).isBetween(70, 130);
        assertThat(counts.get(1) + counts.get(2)).isEqualTo(1000);
        assertThat(server.get("/metrics").body()).contains(
                "serveml_deployment_requests_total{deployment=\"canary\",version=\"2\"} " + counts.get(2) + ".0");
    }

    @Test
    void aStickyPolicySendsEachCallerToOneVersionEveryTime() {
        assertThat(deploy("sticky", "{\"versions\": [{\"version\": 1, \"weight\": 50}, {\"version\": 2, \"weight\": 50}],"
                + " \"sticky_header\": \"X-User-Id\"}").statusCode()).isEqualTo(201);
        Map<Integer, Integer> usersPerVersion = new HashMap<>();
        for (int u = 0; u < 24; u++) {
            Integer seen = null;
            for (int i = 0; i < 8; i++) {
                HttpResponse<String> r = server.send(HttpRequest.newBuilder(server.uri("/api/v1/deployments/sticky/predict"))
                        .header("Content-Type", "application/json").header("X-User-Id", "user-" + u)
                        .POST(HttpRequest.BodyPublishers.ofString(ROW)).build());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                int v = json(r).get("version").asInt();
                assertThat(seen == null || seen == v).as("user-" + u + " moved from v" + seen + " to v" + v).isTrue();
                seen = v;
            }
            usersPerVersion.merge(seen, 1, Integer::sum);
        }
        assertThat(usersPerVersion.keySet()).containsExactlyInAnyOrder(1, 2);
    }

    @Test
    void aShadowThatAlwaysFailsNeverReachesTheClientAndIsCountedOnTheDeploymentAndInMetrics() {
        assertThat(deploy("shadowed", "{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 3}").statusCode())
                .isEqualTo(201);
        for (int i = 0; i < 40; i++) {
            HttpResponse<String> r = server.postJson("/api/v1/deployments/shadowed/predict", ROW);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(json(r).get("version").asInt()).isEqualTo(1);
            assertThat(json(r).get("predictions").get(0).get("label").asLong()).isEqualTo(0);
        }
        JsonNode stats = awaitShadow("shadowed", 40);
        assertThat(stats.get("version").asInt()).isEqualTo(3);
        assertThat(stats.get("failures").asLong()).isEqualTo(40);
        assertThat(stats.get("agreements").asLong()).isZero();
        assertThat(stats.get("mean_latency_ms").asDouble()).isPositive();
        assertThat(server.get("/metrics").body()).contains(
                "serveml_shadow_comparisons_total{deployment=\"shadowed\",outcome=\"failed\",version=\"3\"} 40.0",
                "serveml_shadow_latency_seconds_count{deployment=\"shadowed\",version=\"3\"} 40");
    }

    @Test
    void aShadowWithTheSameModelAgreesEveryTime() {
        assertThat(deploy("agreeing", "{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 2}").statusCode())
                .isEqualTo(201);
        for (int i = 0; i < 20; i++) {
            assertThat(server.postJson("/api/v1/deployments/agreeing/predict", ROW).statusCode()).isEqualTo(200);
        }
        JsonNode stats = awaitShadow("agreeing", 20);
        assertThat(stats.get("failures").asLong()).isZero();
        assertThat(stats.get("agreements").asLong()).isEqualTo(20);
        assertThat(stats.get("agreement_rate").asDouble()).isEqualTo(1.0);
        assertThat(server.get("/metrics").body()).contains(
                "serveml_shadow_agreement_ratio{deployment=\"agreeing\",version=\"2\"} 1.0");
    }

    static JsonNode awaitShadow(String name, int requests) {
        JsonNode stats = Poll.until(() -> json(server.get("/api/v1/deployments/" + name)).get("shadow_stats"),
                s -> s.get("requests").asInt() >= requests, Duration.ofSeconds(20), requests + " shadowed requests");
        assertThat(stats.get("requests").asInt()).as(stats.toString()).isEqualTo(requests);
        return stats;
    }

    @Test
    void promoteMakesTheCanaryTheWholePrimaryAndRollbackGoesBackAndForth() {
        assertThat(deploy("roll", "{\"versions\": [{\"version\": 1, \"weight\": 100}]}").statusCode()).isEqualTo(201);
        assertProblem(server.post("/api/v1/deployments/roll/rollback", null, new byte[0]), 409, "nothing-to-roll-back",
                "only one traffic policy");
        assertProblem(server.post("/api/v1/deployments/roll/promote", null, new byte[0]), 409, "nothing-to-promote",
                "serves only v1");
        HttpResponse<String> patched = server.patchJson("/api/v1/deployments/roll",
                "{\"policy\": {\"versions\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 10}]}}");
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
        assertThat(json(patched).get("previous_policy")).isEqualTo(json("{\"versions\":[{\"version\":1,\"weight\":100}]}"));
        awaitStatus("roll", "active");

        JsonNode promoted = json(server.post("/api/v1/deployments/roll/promote", null, new byte[0]));
        assertThat(promoted.get("policy")).isEqualTo(json("{\"versions\":[{\"version\":2,\"weight\":100}]}"));
        assertThat(promoted.get("previous_policy")).isEqualTo(json(
                "{\"versions\":[{\"version\":1,\"weight\":90},{\"version\":2,\"weight\":10}]}"));
        awaitStatus("roll", "active");
        for (int i = 0; i < 10; i++) {
            assertThat(json(server.postJson("/api/v1/deployments/roll/predict", ROW)).get("version").asInt()).isEqualTo(2);
        }
        JsonNode rolledBack = json(server.post("/api/v1/deployments/roll/rollback", null, new byte[0]));
        assertThat(rolledBack.get("policy")).isEqualTo(promoted.get("previous_policy"));
        assertThat(rolledBack.get("previous_policy")).isEqualTo(promoted.get("policy"));
        assertThat(events("roll").stream().map(e -> e.get("step").asText()).toList())
                .contains("created", "updated", "promoted", "rollback").endsWith("active");

        // A shadow is promoted ahead of a canary, and an explicit version wins over both.
        server.patchJson("/api/v1/deployments/roll", "{\"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 4}}");
        assertThat(json(server.post("/api/v1/deployments/roll/promote", null, new byte[0])).get("policy"))
                .isEqualTo(json("{\"versions\":[{\"version\":4,\"weight\":100}]}"));
        assertProblem(server.postJson("/api/v1/deployments/roll/promote", "{\"version\": 4}"), 409, "nothing-to-promote",
                "already takes all traffic");
        JsonNode p = assertProblem(server.postJson("/api/v1/deployments/roll/promote", "{\"version\": 3}"), 422,
                "invalid-deployment", "not in deployment");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/version");
    }

    @Test
    void aWarmUpSampleMustBeAnsweredBeforeTheDeploymentIsActive() {
        HttpResponse<String> up = server.upload("warm-iris", "iris_rf.onnx", fixture("iris_rf.onnx"));
        assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
        String one = "{\"versions\": [{\"version\": 1, \"weight\": 100}]}";
        String body = "{\"name\": \"%s\", \"model\": \"warm-iris\", \"policy\": " + one + ", \"config\": %s}";

        assertThat(server.postJson("/api/v1/deployments", body.formatted("warm-good",
                "{\"warmup\": {\"features\": [5.1, 3.5, 1.4, 0.2]}}")).statusCode()).isEqualTo(201);
        JsonNode good = awaitStatus("warm-good", "active");
        assertThat(good.get("config").get("warmup")).isEqualTo(json("{\"features\": [5.1, 3.5, 1.4, 0.2]}"));
        server.delete("/api/v1/deployments/warm-good");

        JsonNode misfit = assertProblem(server.postJson("/api/v1/deployments", body.formatted("warm-bad",
                "{\"warmup\": {\"features\": [1, 2]}}")), 422, "invalid-deployment",
                "the warm-up sample does not fit warm-iris v1");
        assertThat(misfit.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/warmup");
        assertThat(misfit.get("detail").asText()).contains("shape");
        assertThat(server.get("/api/v1/deployments/warm-bad").statusCode()).as("nothing created").isEqualTo(404);
        assertThat(server.post("/v2/repository/models/warm-iris/unload", "application/json", "{}".getBytes())
                .statusCode()).isEqualTo(200);
        assertThat(server.postJson("/api/v1/models/warm-iris/predict", ROW).statusCode())
                .as("a refused sample does not stop the version loading for its own route").isEqualTo(200);

        JsonNode p = assertProblem(server.postJson("/api/v1/deployments", body.formatted("warm-invalid",
                "{\"warmup\": 5}")), 422, "invalid-deployment", "warmup must be a predict body");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/warmup");
    }

    @Test
    void badDeploymentsAreRefusedNamingTheField() {
        String one = "{\"versions\": [{\"version\": 1, \"weight\": 100}]}";
        JsonNode p = assertProblem(deploy("bad", "{\"versions\": [{\"version\": 1, \"weight\": 60}, {\"version\": 2, \"weight\": 30}]}"),
                422, "invalid-deployment", "add up to 100");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/policy/versions");
        p = assertProblem(deploy("bad", "{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 1}"),
                422, "invalid-deployment", "also a primary");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/policy/shadow");
        p = assertProblem(deploy("bad", one, "{\"max_batch_size\": 0}"), 422, "invalid-deployment", "max_batch_size");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/max_batch_size");
        assertProblem(server.postJson("/api/v1/deployments", "{\"name\": \"bad\", \"model\": \"nope\", \"policy\": " + one + "}"),
                404, "model-not-found", "nope");
        assertProblem(deploy("bad", "{\"versions\": [{\"version\": 9, \"weight\": 100}]}"), 404, "version-not-found", "no version 9");
        assertProblem(deploy("bad name!", one), 422, "invalid-name", "deployment names");

        assertThat(server.upload("archived", "m.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(server.patchJson("/api/v1/models/archived/versions/1", "{\"state\": \"archived\"}").statusCode()).isEqualTo(200);
        p = assertProblem(server.postJson("/api/v1/deployments", "{\"name\": \"bad\", \"model\": \"archived\", \"policy\": "
                + one + "}"), 422, "invalid-deployment", "archived");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/policy/versions/0/version");

        assertThat(deploy("taken", one).statusCode()).isEqualTo(201);
        p = assertProblem(deploy("taken", one), 409, "name-taken", "taken");
        assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/name");
        assertProblem(server.patchJson("/api/v1/deployments/taken", "{\"policy\": {\"versions\": []}}"), 422,
                "invalid-deployment", "non-empty");
    }

    @Test
    void ofSeveralFaultsTheFirstTheServiceChecksIsAnsweredAndAnotherTenantLearnsNothingFromItsBody() {
        String one = "{\"versions\": [{\"version\": 1, \"weight\": 100}]}";
        String nine = "{\"versions\": [{\"version\": 9, \"weight\": 100}]}";
        String badPolicy = "{\"versions\": [{\"version\": 1, \"weight\": 60}]}";
        String badConfig = "{\"max_batch_size\": 0}";
        String create = "{\"name\": \"%s\", \"model\": \"%s\", \"policy\": %s, \"config\": %s}";
        // The name, then the model named, then the model found, then the policy, then the config.
        assertProblem(server.postJson("/api/v1/deployments", "{\"name\": \"bad name!\", \"model\": 5, \"policy\": 1}"),
                422, "invalid-name", "deployment names");
        JsonNode p = assertProblem(server.postJson("/api/v1/deployments", "{\"name\": \"faults\", \"policy\": 1}"),
                422, "invalid-deployment", "model must name the model to deploy");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/model");
        assertProblem(server.postJson("/api/v1/deployments", create.formatted("faults", "nope", badPolicy, badConfig)),
                404, "model-not-found", "nope");
        p = assertProblem(server.postJson("/api/v1/deployments", create.formatted("faults", "dep-iris", badPolicy, badConfig)),
                422, "invalid-deployment", "the weights must add up to 100; they add up to 60");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/policy/versions");
        // The config before the versions, the versions before the warm-up sample, all before the name being taken.
        p = assertProblem(server.postJson("/api/v1/deployments", create.formatted("faults", "dep-iris", nine, badConfig)),
                422, "invalid-deployment", "max_batch_size must be a whole number from 1 to 4096");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/config/max_batch_size");
        assertProblem(server.postJson("/api/v1/deployments", create.formatted("faults", "dep-iris", nine,
                "{\"warmup\": {\"features\": [1, 2]}}")), 404, "version-not-found", "no version 9");
        assertThat(deploy("faults", one).statusCode()).isEqualTo(201);
        p = assertProblem(deploy("faults", one, badConfig), 422, "invalid-deployment", "max_batch_size");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/config/max_batch_size");

        // Another tenant: the admin's model and deployment are not found, whatever the body holds.
        String other = server.newUser("fault-prober");
        for (String policy : List.of(badPolicy, one, "1")) {
            assertProblem(as(other, "POST", "/api/v1/deployments", create.formatted("probe", "dep-iris", policy, badConfig)),
                    404, "model-not-found", "iris");
        }
        for (String body : List.of("{", "[]", "{}", "{\"policy\": 1}", "{\"config\": " + badConfig + "}",
                "{\"policy\": " + nine + "}")) {
            assertProblem(as(other, "PATCH", "/api/v1/deployments/faults", body), 404, "deployment-not-found", "faults");
        }
        // The owner sending the same bodies has them judged: the policy before the config before the versions.
        assertProblem(server.patchJson("/api/v1/deployments/faults", "{"), 400, "malformed-json", "not valid JSON");
        assertProblem(server.patchJson("/api/v1/deployments/faults", "[]"), 400, "invalid-request", "and/or");
        assertProblem(server.patchJson("/api/v1/deployments/faults", "{}"), 400, "invalid-request", "and/or");
        p = assertProblem(server.patchJson("/api/v1/deployments/faults", "{\"policy\": " + badPolicy + ", \"config\": "
                + badConfig + "}"), 422, "invalid-deployment", "add up to 60");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/policy/versions");
        p = assertProblem(server.patchJson("/api/v1/deployments/faults", "{\"policy\": " + nine + ", \"config\": "
                + badConfig + "}"), 422, "invalid-deployment", "max_batch_size");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/config/max_batch_size");
        assertProblem(server.patchJson("/api/v1/deployments/faults", "{\"policy\": " + nine + "}"), 404,
                "version-not-found", "no version 9");
        assertThat(json(server.get("/api/v1/deployments/faults")).get("policy")).as("nothing changed")
                .isEqualTo(json(one));
    }

    private static HttpResponse<String> as(String token, String method, String path, String body) {
        return server.sendRaw(HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body))
                .build());
    }

    @Test
    void anotherTenantSeesTheDeploymentAsNotFoundEverywhere() {
        assertThat(deploy("private", "{\"versions\": [{\"version\": 1, \"weight\": 100}]}").statusCode()).isEqualTo(201);
        String other = server.newUser("deploy-intruder");
        for (HttpRequest.Builder b : List.of(
                HttpRequest.newBuilder(server.uri("/api/v1/deployments/private")).GET(),
                HttpRequest.newBuilder(server.uri("/api/v1/deployments/private/events")).GET(),
                HttpRequest.newBuilder(server.uri("/api/v1/deployments/private")).DELETE(),
                HttpRequest.newBuilder(server.uri("/api/v1/deployments/private/rollback")).POST(HttpRequest.BodyPublishers.noBody()),
                HttpRequest.newBuilder(server.uri("/api/v1/deployments/private"))
                        .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"config\": {\"timeout\": \"1s\"}}")),
                HttpRequest.newBuilder(server.uri("/api/v1/deployments/private/predict"))
                        .POST(HttpRequest.BodyPublishers.ofString(ROW)))) {
            HttpResponse<String> r = server.sendRaw(b.header("Authorization", "Bearer " + other)
                    .header("Content-Type", "application/json").build());
            assertProblem(r, 404, "deployment-not-found", "private");
        }
        JsonNode list = json(server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/deployments"))
                .header("Authorization", "Bearer " + other).build()));
        assertThat(list.get("items").findValuesAsText("name")).doesNotContain("private");
        assertThat(server.get("/api/v1/deployments/private").statusCode()).isEqualTo(200);
    }

    @Test
    void theV2ProtocolResolvesADeploymentNameBeforeAModelName() {
        assertThat(deploy("v2dep", "{\"versions\": [{\"version\": 2, \"weight\": 100}]}").statusCode()).isEqualTo(201);
        awaitStatus("v2dep", "active");
        HttpResponse<String> r = server.postJson("/v2/models/v2dep/infer", "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],"
                + "\"datatype\":\"FP32\",\"data\":[5.1,3.5,1.4,0.2]}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = json(r);
        assertThat(body.get("model_name").asText()).isEqualTo("v2dep");
        assertThat(body.get("model_version").asText()).isEqualTo("2");
        JsonNode meta = json(server.get("/v2/models/v2dep"));
        assertThat(meta.get("name").asText()).isEqualTo("v2dep");
        assertThat(meta.get("versions")).isEqualTo(json("[\"2\"]"));
        assertThat(server.get("/v2/models/v2dep/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void tritonsRepositoryApiListsLoadsAndUnloads() {
        assertThat(server.upload("repo", "m.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        JsonNode index = json(server.postJson("/v2/repository/index", "{}"));
        assertThat(index).contains(json("{\"name\":\"repo\",\"version\":\"1\",\"state\":\"READY\",\"reason\":\"\"}"));

        HttpResponse<String> unload = server.postJson("/v2/repository/models/repo/unload", "{}");
        assertThat(unload.statusCode()).as(unload.body()).isEqualTo(200);
        assertThat(unload.body()).isEmpty();
        index = json(server.postJson("/v2/repository/index", "{}"));
        assertThat(index).contains(json("{\"name\":\"repo\",\"version\":\"1\",\"state\":\"UNAVAILABLE\",\"reason\":\"unloaded\"}"));
        JsonNode ready = json(server.postJson("/v2/repository/index", "{\"ready\": true}"));
        assertThat(ready.findValuesAsText("name")).doesNotContain("repo");

        assertThat(server.postJson("/v2/repository/models/repo/load", "{}").statusCode()).isEqualTo(200);
        index = json(server.postJson("/v2/repository/index", "{}"));
        assertThat(index).contains(json("{\"name\":\"repo\",\"version\":\"1\",\"state\":\"READY\",\"reason\":\"\"}"));
        assertV2Error(server.postJson("/v2/repository/models/nothing-here/load", "{}"), 404, "nothing-here");
    }
}
