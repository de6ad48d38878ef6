package dev.serveml.e2e;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two ServeML instances on one real Redis share their rate-limit buckets; when Redis goes away
 * they keep serving on local buckets and say so.
 */
class RedisRateLimitIT {
    static final int LIMIT = 6;

    @TempDir
    Path dir;
    RedisServer redis;

    @BeforeEach
    void startRedis() throws Exception {
        redis = RedisServer.start(dir);
    }

    @AfterEach
    void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void twoInstancesOnOneRedisAdmitTheLimitInTotalAndSurviveRedisGoingAway() throws Exception {
        Map<String, String> env = Map.of("SERVEML_REDIS_URL", redis.url(),
                "SERVEML_ANONYMOUS_RATE_LIMIT", Integer.toString(LIMIT));
        try (TestServer a = TestServer.start(dir.resolve("a"), env); TestServer b = TestServer.start(dir.resolve("b"), env)) {
            for (TestServer s : new TestServer[]{a, b}) {
                assertThat(s.upload("shared", "i.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
                s.patchJson("/api/v1/models/shared", "{\"public\": true}");
                assertThat(json(s.get("/health/ready")).get("checks").get("rate_limits").asText()).isEqualTo("redis");
            }
            // Anonymous calls from 127.0.0.1 draw from one bucket, whichever instance answers.
            int admitted = 0;
            int refused = 0;
            for (int i = 0; i < 2 * LIMIT; i++) {
                int status = anonymous(i % 2 == 0 ? a : b).statusCode();
                if (status == 200) {
                    admitted++;
                } else if (status == 429) {
                    refused++;
                }
            }
            assertThat(admitted).isEqualTo(LIMIT);
            assertThat(refused).isEqualTo(LIMIT);

            redis.kill();
            // Local buckets start full, so each instance serves again on its own.
            HttpResponse<String> during = anonymous(a);
            assertThat(during.statusCode()).as(during.body()).isEqualTo(200);
            assertThat(json(a.get("/health/ready")).get("checks").get("rate_limits").asText())
                    .startsWith("local (Redis unreachable");
            assertThat(anonymous(b).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aKeysTokensAreChargedToItsBucketInRedisWhichOutlivesTheInstance() {
        Map<String, String> env = Map.of("SERVEML_REDIS_URL", redis.url());
        try (TestServer a = TestServer.start(dir.resolve("tokens"), env)) {
            HttpResponse<String> up = a.upload("enc", "bert-tiny-encoder.zip",
                    dev.serveml.runtime.text.RepoZip.of("bert-tiny-encoder").bytes());
            assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
            String token = a.newUser("redis-tokens");
            HttpResponse<String> made = a.sendRaw(AccessAbuseIT.request(a, token, "POST", "/api/v1/api-keys",
                    "{\"name\": \"t\", \"scopes\": [\"predict\"], \"tokens_per_minute\": 12}"));
            assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
            String key = json(made).get("key").asText();
            a.patchJson("/api/v1/models/enc", "{\"public\": true}");
            assertThat(json(a.get("/health/ready")).get("checks").get("rate_limits").asText()).isEqualTo("redis");

            long spent = 0;
            while (spent < 12) {
                HttpResponse<String> r = embed(a, key);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue(Long.toString(12 - spent));
                spent += json(r).at("/usage/total_tokens").asLong();
            }
            HttpResponse<String> refused = embed(a, key);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
            assertThat(json(refused).at("/error/code").asText()).isEqualTo("rate-limited");
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();

            // Local buckets would start full after a restart; Redis still holds the spent one.
            a.restart();
            assertThat(json(a.get("/health/ready")).get("checks").get("rate_limits").asText()).isEqualTo("redis");
            HttpResponse<String> after = embed(a, key);
            assertThat(after.statusCode()).as(after.body()).isEqualTo(429);
            assertThat(json(after).at("/error/message").asText()).contains("12 tokens per minute");
        }
    }

    private static HttpResponse<String> embed(TestServer s, String key) {
        return s.sendRaw(AccessAbuseIT.request(s, key, "POST", "/v1/embeddings",
                "{\"model\": \"enc\", \"input\": \"tokens in redis\"}"));
    }

    private static HttpResponse<String> anonymous(TestServer s) {
        return s.sendRaw(HttpRequest.newBuilder(s.uri("/api/v1/models/shared/predict"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"features\": [5.1, 3.5, 1.4, 0.2]}")).build());
    }
}
