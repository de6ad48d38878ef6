package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: API keys limit the model tokens their answers take (per minute, per day) as they limit
 * requests, with OpenAI's x-ratelimit-* headers; a child key cannot spend more than its parent; the
 * usage of each key and model per UTC day is recorded in PostgreSQL, survives a restart, and only
 * its owner (and the administrators) can read it. Over real HTTP, against the gpt2-tiny generator
 * and the bert-tiny encoder (feature-extraction, which answers its prompt tokens).
 */
class TokenLimitsIT {
    static final String COMPLETION = "{\"model\": \"tl-gpt2\", \"prompt\": \"the cat sat\", \"max_tokens\": 12, "
            + "\"temperature\": 0}";
    static final String NATIVE = "{\"inputs\": \"the cat sat\", \"parameters\": {\"max_new_tokens\": 12}}";
    static final String EMBED = "{\"model\": \"tl-encoder\", \"input\": \"a short text to embed\"}";

    @TempDir
    static Path dir;
    static TestServer server;
    static String alice;

    @BeforeAll
    static void start() {
        server = TestServer.start(dir.resolve("server"), java.util.Map.of("SERVEML_CORS_ORIGINS", "http://app.example"));
        alice = server.newUser("tl-alice");
        server.useCredential(alice);
        for (String[] m : new String[][]{{"tl-gpt2", "gpt2-tiny"}, {"tl-encoder", "bert-tiny-encoder"}}) {
            HttpResponse<String> r = server.upload(m[0], m[1] + ".zip", RepoZip.of(m[1]).bytes());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        }
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static HttpResponse<String> as(String credential, String method, String path, String body) {
        return server.sendRaw(AccessAbuseIT.request(server, credential, method, path, body));
    }

    static JsonNode createKey(String credential, String body) {
        HttpResponse<String> r = as(credential, "POST", "/api/v1/api-keys", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r);
    }

    static long header(HttpResponse<String> r, String name) {
        return Long.parseLong(r.headers().firstValue(name).orElseThrow(() -> new AssertionError("no " + name + " in "
                + r.headers().map())));
    }

    static long totalTokens(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).at("/usage/total_tokens").asLong();
    }

    static JsonNode assertOpenAiError(HttpResponse<String> r, int status, String type, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode body = json(r);
        assertThat(body.size()).isEqualTo(1);
        JsonNode error = body.get("error");
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asText()).isEqualTo(code);
        assertThat(error.has("param")).isTrue();
        assertThat(error.get("message").asText()).isNotBlank();
        return error;
    }

    @Test
    void aKeyThatSpentItsTokensPerMinuteIsRefused429OnV1InOpenAisShapeAndOnNativeRoutesAsAProblem() {
        JsonNode created = createKey(alice, "{\"name\": \"small\", \"scopes\": [\"predict\"], \"tokens_per_minute\": 30}");
        assertThat(created.get("tokens_per_minute").asInt()).isEqualTo(30);
        assertThat(created.get("tokens_per_day").isNull()).isTrue();
        String small = created.get("key").asText();

        HttpResponse<String> first = as(small, "POST", "/v1/completions", COMPLETION);
        long spent = totalTokens(first);
        assertThat(spent).as("prompt and completion tokens").isBetween(4L, 29L);
        assertThat(header(first, "x-ratelimit-limit-tokens")).isEqualTo(30);
        assertThat(header(first, "x-ratelimit-remaining-tokens")).as("before this answer's tokens").isEqualTo(30);
        assertThat(first.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("0s");
        assertThat(header(first, "x-ratelimit-limit-requests")).isEqualTo(header(first, "RateLimit-Limit"));
        assertThat(header(first, "x-ratelimit-remaining-requests")).isEqualTo(header(first, "RateLimit-Remaining"));
        assertThat(first.headers().firstValue("x-ratelimit-reset-requests")).get().asString().matches("\\d+(m\\d+)?s");

        HttpResponse<String> second = as(small, "POST", "/v1/completions", COMPLETION);
        long spentAgain = totalTokens(second);
        assertThat(header(second, "x-ratelimit-remaining-tokens")).as("decreasing").isEqualTo(30 - spent);
        assertThat(second.headers().firstValue("x-ratelimit-reset-tokens").orElseThrow()).isNotEqualTo("0s");
        // Still short of the limit? Spend the rest; the last answer is charged in full, past the limit.
        while (spent + spentAgain < 30) {
            spentAgain += totalTokens(as(small, "POST", "/v1/completions", COMPLETION));
        }

        HttpResponse<String> refused = as(small, "POST", "/v1/completions", COMPLETION);
        JsonNode error = assertOpenAiError(refused, 429, "rate_limit_error", "rate-limited");
        assertThat(error.get("message").asText()).contains("30 tokens per minute");
        assertThat(header(refused, "Retry-After")).isBetween(1L, 60L);
        assertThat(header(refused, "x-ratelimit-remaining-tokens")).isZero();
        assertOpenAiError(as(small, "POST", "/v1/embeddings", EMBED), 429, "rate_limit_error", "rate-limited");
        HttpResponse<String> nativeRefused = as(small, "POST", "/api/v1/models/tl-gpt2/predict", NATIVE);
        assertProblem(nativeRefused, 429, "rate-limited", "30 tokens per minute");
        assertThat(nativeRefused.headers().firstValue("Retry-After")).isPresent();
        HttpResponse<String> v2 = as(small, "POST", "/v2/models/tl-gpt2/infer", "{\"inputs\": [{\"name\": \"text\", "
                + "\"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"the cat\"]}]}");
        assertThat(v2.statusCode()).as(v2.body()).isEqualTo(429);

        // Listing models costs no tokens: the key still reads; the user's other key still predicts.
        assertThat(as(small, "GET", "/v1/models", null).statusCode()).isEqualTo(200);
        String other = createKey(alice, "{\"name\": \"other\", \"scopes\": [\"predict\"]}").get("key").asText();
        HttpResponse<String> unlimited = as(other, "POST", "/v1/completions", COMPLETION);
        assertThat(unlimited.statusCode()).as(unlimited.body()).isEqualTo(200);
        assertThat(unlimited.headers().firstValue("x-ratelimit-limit-tokens")).as("no token limit, no token headers")
                .isEmpty();
        assertThat(unlimited.headers().firstValue("x-ratelimit-limit-requests")).isPresent();
    }

    @Test
    void aBrowserAppMayReadTheRateLimitHeadersAcrossOrigins() {
        String key = createKey(alice, "{\"name\": \"browser\", \"scopes\": [\"predict\"], \"tokens_per_minute\": 1000}")
                .get("key").asText();
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/v1/embeddings"))
                .header("Origin", "http://app.example").header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(EMBED)).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).hasValue("http://app.example");
        java.util.List<String> exposed = java.util.Arrays.stream(r.headers().firstValue("Access-Control-Expose-Headers")
                .orElse("").split(",")).map(String::trim).map(s -> s.toLowerCase(java.util.Locale.ROOT)).toList();
        for (String kind : new String[]{"requests", "tokens"}) {
            for (String figure : new String[]{"limit", "remaining", "reset"}) {
                assertThat(exposed).contains("x-ratelimit-" + figure + "-" + kind);
                assertThat(r.headers().firstValue("x-ratelimit-" + figure + "-" + kind)).isPresent();
            }
        }
        assertThat(exposed).contains("ratelimit-remaining", "retry-after");
    }

    @Test
    void aDailyTokenQuotaIsRefusedAsQuotaExceeded() {
        String daily = createKey(alice, "{\"name\": \"daily\", \"scopes\": [\"predict\"], \"tokens_per_day\": 5}")
                .get("key").asText();
        assertThat(as(daily, "POST", "/v1/embeddings", EMBED).statusCode()).isEqualTo(200);
        HttpResponse<String> refused = as(daily, "POST", "/v1/embeddings", EMBED);
        assertOpenAiError(refused, 429, "rate_limit_error", "quota-exceeded");
        assertThat(header(refused, "Retry-After")).as("midnight UTC, the day's overshoot not carried over")
                .isBetween(1L, 86_400L);
        assertProblem(as(daily, "POST", "/api/v1/models/tl-gpt2/predict", NATIVE), 429, "quota-exceeded",
                "midnight UTC");
    }

    @Test
    void aChildKeyCannotBeGivenMoreTokensThanItsParentNorSpendMoreThanItsParentHas() {
        JsonNode parent = createKey(alice, "{\"name\": \"parent\", \"scopes\": [\"predict\"], \"tokens_per_minute\": 40, "
                + "\"tokens_per_day\": 100000}");
        String p = parent.get("key").asText();
        HttpResponse<String> wider = as(p, "POST", "/api/v1/api-keys", "{\"name\": \"wider\", \"scopes\": [\"predict\"], "
                + "\"tokens_per_minute\": 41}");
        assertProblem(wider, 403, "insufficient-scope", "40 tokens a minute");
        assertThat(json(wider).at("/errors/0/pointer").asText()).isEqualTo("/tokens_per_minute");
        assertProblem(as(p, "POST", "/api/v1/api-keys", "{\"name\": \"wider\", \"scopes\": [\"predict\"], "
                + "\"tokens_per_day\": 100001}"), 403, "insufficient-scope", "tokens a day");
        JsonNode inherited = createKey(p, "{\"name\": \"c1\", \"scopes\": [\"predict\"]}");
        assertThat(inherited.get("tokens_per_minute").asInt()).as("left out: the parent's").isEqualTo(40);
        assertThat(inherited.get("tokens_per_day").asInt()).isEqualTo(100_000);
        String c1 = inherited.get("key").asText();
        String c2 = createKey(p, "{\"name\": \"c2\", \"scopes\": [\"predict\"], \"tokens_per_minute\": 40}")
                .get("key").asText();

        // Two children with 40 each: together they still get only the parent's 40.
        long spent = 0;
        while (spent < 40) {
            spent += totalTokens(as(c1, "POST", "/v1/completions", COMPLETION));
        }
        HttpResponse<String> sibling = as(c2, "POST", "/v1/completions", COMPLETION);
        JsonNode error = assertOpenAiError(sibling, 429, "rate_limit_error", "rate-limited");
        assertThat(error.get("message").asText()).contains("created with");
        assertOpenAiError(as(p, "POST", "/v1/completions", COMPLETION), 429, "rate_limit_error", "rate-limited");
        assertThat(header(sibling, "x-ratelimit-limit-tokens")).as("the parent's bucket is the tight one")
                .isEqualTo(40);
    }

    @Test
    void usageIsRecordedPerKeyAndModelSurvivesARestartAndOnlyItsOwnerAndAdminsReadIt() {
        JsonNode created = createKey(alice, "{\"name\": \"metered\", \"scopes\": [\"predict\"]}");
        String metered = created.get("key").asText();
        long keyId = created.get("id").asLong();
        JsonNode a = json(as(metered, "POST", "/v1/completions", COMPLETION));
        JsonNode b = json(as(metered, "POST", "/v1/completions", COMPLETION));
        JsonNode e = json(as(metered, "POST", "/v1/embeddings", EMBED));
        HttpResponse<String> nativeCall = as(metered, "POST", "/api/v1/models/tl-gpt2/predict", NATIVE);
        assertThat(nativeCall.statusCode()).as(nativeCall.body()).isEqualTo(200);
        long prompt = a.at("/usage/prompt_tokens").asLong() + b.at("/usage/prompt_tokens").asLong();
        long completion = a.at("/usage/completion_tokens").asLong() + b.at("/usage/completion_tokens").asLong();
        // The native call's counts are those of the same greedy completion at 12 tokens.
        prompt += a.at("/usage/prompt_tokens").asLong();
        completion += a.at("/usage/completion_tokens").asLong();

        // Restarted at once: the counts were still in memory, and a clean stop writes them.
        server.restart();

        HttpResponse<String> mine = as(metered, "GET", "/api/v1/usage?key_id=" + keyId, null);
        assertThat(mine.statusCode()).as(mine.body()).isEqualTo(200);
        JsonNode items = json(mine).get("items");
        assertThat(items.size()).as(items.toString()).isEqualTo(2);
        JsonNode gpt = row(items, "tl-gpt2");
        assertThat(gpt.get("key_id").asLong()).isEqualTo(keyId);
        assertThat(gpt.get("requests").asLong()).isEqualTo(3);
        assertThat(gpt.get("prompt_tokens").asLong()).isEqualTo(prompt);
        assertThat(gpt.get("completion_tokens").asLong()).isEqualTo(completion);
        assertThat(gpt.get("total_tokens").asLong()).isEqualTo(prompt + completion);
        assertThat(gpt.get("date").asText()).isEqualTo(java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString());
        JsonNode enc = row(items, "tl-encoder");
        assertThat(enc.get("requests").asLong()).isEqualTo(1);
        assertThat(enc.get("prompt_tokens").asLong()).isEqualTo(e.at("/usage/prompt_tokens").asLong()).isPositive();
        assertThat(enc.get("completion_tokens").asLong()).isZero();
        long aliceId = gpt.get("user_id").asLong();

        // Another tenant reads only their own usage, whatever they ask for.
        String bob = server.newUser("tl-bob");
        for (String query : new String[]{"", "?key_id=" + keyId, "?user_id=" + aliceId, "?model=tl-gpt2"}) {
            HttpResponse<String> theirs = as(bob, "GET", "/api/v1/usage" + query, null);
            assertThat(theirs.statusCode()).as(theirs.body()).isEqualTo(200);
            assertThat(json(theirs).get("items").size()).as(query).isZero();
        }
        assertProblem(as(bob, "GET", "/api/v1/usage?from=yesterday", null), 400, "invalid-request", "UTC date");
        assertProblem(as(null, "GET", "/api/v1/usage", null), 401, "authentication-required", "");
        // The administrators read everyone's, and one user's.
        JsonNode all = json(as(server.adminKey(), "GET", "/api/v1/usage?user_id=" + aliceId + "&key_id=" + keyId, null));
        assertThat(all.get("items")).isEqualTo(items);
    }

    private static JsonNode row(JsonNode items, String model) {
        for (JsonNode item : items) {
            if (item.get("model").asText().equals(model)) {
                return item;
            }
        }
        throw new AssertionError("no usage for " + model + " in " + items);
    }
}
