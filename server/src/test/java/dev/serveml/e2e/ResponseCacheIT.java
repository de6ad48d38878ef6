package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The response cache over HTTP: hits, bypass, invalidation by version, per-model off, and Redis shared by two instances. */
class ResponseCacheIT {
    static final String ROW = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";

    @TempDir
    static Path dataDir;
    static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(dataDir.resolve("main"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void anIdenticalRequestIsAHitWithTheHeaderTheFieldAndTheSameAnswer() {
        upload(server, "cached");
        HttpResponse<String> first = predict(server, "cached", ROW, false);
        HttpResponse<String> second = predict(server, "cached", ROW, false);

        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(first.headers().firstValue("X-Cache")).hasValue("miss");
        assertThat(json(first).get("cache").asText()).isEqualTo("miss");
        assertThat(second.headers().firstValue("X-Cache")).hasValue("hit");
        JsonNode hit = json(second);
        assertThat(hit.get("cache").asText()).isEqualTo("hit");
        assertThat(hit.get("predictions")).isEqualTo(json(first).get("predictions"));
        assertThat(hit.get("model").asText()).isEqualTo("cached");
        assertThat(hit.get("version").asInt()).isEqualTo(1);
        assertThat(hit.get("inference_ms").asDouble()).isZero();
        assertThat(predict(server, "cached", "{\"features\": [5.1, 3.5, 1.4, 0.3]}", false)
                .headers().firstValue("X-Cache")).as("other inputs").hasValue("miss");

        String body = "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[6.1,2.8,4.7,1.2]}]}";
        HttpResponse<String> v2miss = server.postJson("/v2/models/cached/infer", body);
        HttpResponse<String> v2hit = server.postJson("/v2/models/cached/infer", body);
        assertThat(json(v2miss).get("parameters").get("cache").asText()).isEqualTo("miss");
        assertThat(json(v2hit).get("parameters").get("cache").asText()).isEqualTo("hit");
        assertThat(v2hit.headers().firstValue("X-Cache")).hasValue("hit");
        assertThat(json(v2hit).get("outputs")).isEqualTo(json(v2miss).get("outputs"));

        assertThat(server.get("/metrics").body())
                .containsPattern("serveml_cache_requests_total\\{level=\"l1\",result=\"hit\"} [2-9]")
                .containsPattern("serveml_cache_requests_total\\{level=\"l1\",result=\"miss\"} [3-9]");
    }

    @Test
    void aDeploymentDecidesForItsOwnCallsWhetherAnswersAreCachedAndTheNoCacheHeaderReachesIt() {
        upload(server, "deployed-cache");
        for (String[] d : new String[][]{{"uncached", "{\"enabled\": false}"}, {"cached", "{\"enabled\": true, "
                + "\"ttl\": \"90s\"}"}}) {
            HttpResponse<String> r = server.postJson("/api/v1/deployments", "{\"name\": \"dc-" + d[0] + "\", \"model\": "
                    + "\"deployed-cache\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, "
                    + "\"config\": {\"cache\": " + d[1] + "}}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            server.awaitDeployment("dc-" + d[0], "active");
        }
        assertThat(json(server.get("/api/v1/deployments/dc-cached")).get("config").get("cache"))
                .isEqualTo(json("{\"enabled\": true, \"ttl_ms\": 90000}"));

        for (int i = 0; i < 2; i++) {
            assertThat(json(callDeployment("dc-uncached", false)).get("cache").asText()).as("off: never a hit")
                    .isEqualTo("miss");
        }
        assertThat(json(callDeployment("dc-cached", false)).get("cache").asText()).isEqualTo("miss");
        assertThat(json(callDeployment("dc-cached", false)).get("cache").asText()).isEqualTo("hit");
        JsonNode fresh = json(callDeployment("dc-cached", true));
        assertThat(fresh.get("cache").asText()).as("Cache-Control: no-cache").isEqualTo("miss");
        assertThat(fresh.get("inference_ms").asDouble()).isPositive();
        assertThat(server.get("/metrics").body()).containsPattern(
                "serveml_cache_requests_total\\{level=\"l1\",result=\"bypass\"} [1-9]");
        JsonNode p = Problems.assertProblem(server.patchJson("/api/v1/deployments/dc-cached",
                "{\"config\": {\"cache\": {\"enabled\": \"yes\", \"ttl\": \"-1s\"}}}"), 422, "invalid-deployment",
                "enabled must be true, false or null");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/config/cache/enabled",
                "/config/cache/ttl");
    }

    private static HttpResponse<String> callDeployment(String name, boolean fresh) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri("/api/v1/deployments/" + name + "/predict"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(ROW));
        if (fresh) {
            b.header("Cache-Control", "no-cache");
        }
        HttpResponse<String> r = server.send(b.build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return r;
    }

    @Test
    void noCacheRunsTheModelAndStoresTheFreshAnswer() {
        upload(server, "bypassed");
        assertThat(predict(server, "bypassed", ROW, false).headers().firstValue("X-Cache")).hasValue("miss");
        HttpResponse<String> fresh = predict(server, "bypassed", ROW, true);
        assertThat(fresh.statusCode()).isEqualTo(200);
        assertThat(fresh.headers().firstValue("X-Cache")).hasValue("miss");
        assertThat(json(fresh).get("inference_ms").asDouble()).isPositive();
        assertThat(predict(server, "bypassed", ROW, false).headers().firstValue("X-Cache")).hasValue("hit");
        assertThat(server.get("/metrics").body()).containsPattern(
                "serveml_cache_requests_total\\{level=\"l1\",result=\"bypass\"} [1-9]");
    }

    @Test
    void aNewActiveVersionIsNotAnsweredFromTheOldOnesCacheAndARollbackFindsItsOwn() {
        upload(server, "versioned");
        predict(server, "versioned", ROW, false);
        assertThat(predict(server, "versioned", ROW, false).headers().firstValue("X-Cache")).hasValue("hit");

        upload(server, "versioned");
        HttpResponse<String> v2 = predict(server, "versioned", ROW, false);
        assertThat(json(v2).get("version").asInt()).isEqualTo(2);
        assertThat(json(v2).get("cache").asText()).isEqualTo("miss");

        HttpResponse<String> rollback = server.patchJson("/api/v1/models/versioned/versions/2", "{\"state\": \"archived\"}");
        assertThat(rollback.statusCode()).as(rollback.body()).isEqualTo(200);
        HttpResponse<String> back = predict(server, "versioned", ROW, false);
        assertThat(json(back).get("version").asInt()).isEqualTo(1);
        assertThat(json(back).get("cache").asText()).isEqualTo("hit");
    }

    @Test
    void aModelWithTheCacheTurnedOffAlwaysRunsAndSaysMiss() {
        upload(server, "uncached");
        HttpResponse<String> patch = server.patchJson("/api/v1/models/uncached", "{\"cache\": {\"enabled\": false}}");
        assertThat(patch.statusCode()).as(patch.body()).isEqualTo(200);
        assertThat(json(patch).get("cache")).isEqualTo(json("{\"enabled\": false, \"ttl_seconds\": null}"));
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = predict(server, "uncached", ROW, false);
            assertThat(r.headers().firstValue("X-Cache")).hasValue("miss");
            assertThat(json(r).get("inference_ms").asDouble()).isPositive();
        }
        HttpResponse<String> on = server.patchJson("/api/v1/models/uncached",
                "{\"cache\": {\"enabled\": true, \"ttl_seconds\": 60}}");
        assertThat(json(on).get("cache")).isEqualTo(json("{\"enabled\": true, \"ttl_seconds\": 60}"));
        predict(server, "uncached", ROW, false);
        assertThat(predict(server, "uncached", ROW, false).headers().firstValue("X-Cache")).hasValue("hit");

        HttpResponse<String> bad = server.patchJson("/api/v1/models/uncached", "{\"cache\": {\"ttl_seconds\": -1}}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("errors").get(0).get("pointer").asText()).isEqualTo("/cache/ttl_seconds");
    }

    @Test
    void twoInstancesOnOneRedisShareAnswers() throws Exception {
        RedisServer redis = RedisServer.start(dataDir.resolve("redis"));
        try {
            Map<String, String> env = Map.of("SERVEML_REDIS_URL", redis.url());
            try (TestServer a = TestServer.start(dataDir.resolve("a"), env);
                 TestServer b = TestServer.start(dataDir.resolve("b"), env)) {
                // Each instance has its own database: the same upload gets the same version id in both.
                upload(a, "shared");
                upload(b, "shared");
                HttpResponse<String> miss = predict(a, "shared", ROW, false);
                assertThat(miss.headers().firstValue("X-Cache")).hasValue("miss");
                HttpResponse<String> hit = predict(b, "shared", ROW, false);
                assertThat(hit.headers().firstValue("X-Cache")).as(hit.body()).hasValue("hit");
                assertThat(json(hit).get("predictions")).isEqualTo(json(miss).get("predictions"));
                assertThat(b.get("/metrics").body())
                        .contains("serveml_cache_requests_total{level=\"l2\",result=\"hit\"} 1.0");

                redis.kill();
                // Without Redis each instance still answers, from its own L1 or from the model.
                assertThat(predict(b, "shared", ROW, false).headers().firstValue("X-Cache")).hasValue("hit");
                HttpResponse<String> other = predict(a, "shared", "{\"features\": [6.0, 3.0, 4.8, 1.8]}", false);
                assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
                assertThat(other.headers().firstValue("X-Cache")).hasValue("miss");
            }
        } finally {
            redis.close();
        }
    }

    private static void upload(TestServer s, String name) {
        HttpResponse<String> r = s.upload(name, "iris.onnx", fixture("iris_rf.onnx"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    private static HttpResponse<String> predict(TestServer s, String model, String body, boolean fresh) {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri("/api/v1/models/" + model + "/predict"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (fresh) {
            b.header("Cache-Control", "no-cache");
        }
        return s.send(b.build());
    }
}
