package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The attacks of issue 11 on accounts, keys, sign-in and the response cache (findings 10, 12-15),
 * done as a tenant or a stranger would over real HTTP; each asserts the attack fails and that the
 * legitimate use beside it still works. A second client address is 127.0.0.2, on loopback.
 */
class AccessAbuseIT {
    static final String ROW = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    /** A client whose connections come from 127.0.0.2: another address for the server. */
    static HttpClient elsewhere;

    @BeforeAll
    static void start() throws IOException {
        server = shared.server();
        elsewhere = HttpClient.newBuilder().localAddress(InetAddress.getByName("127.0.0.2"))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    static HttpResponse<String> as(String credential, String method, String path, String json) {
        return server.sendRaw(request(server, credential, method, path, json));
    }

    static HttpRequest request(TestServer s, String credential, String method, String path, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri(path));
        if (credential != null) {
            b.header("Authorization", "Bearer " + credential);
        }
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        return b.method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(json)).build();
    }

    static HttpResponse<String> fromElsewhere(HttpRequest request) {
        try {
            return elsewhere.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String credentials(String user, String password) {
        return "{\"username\":\"" + user + "\",\"password\":\"" + password + "\"}";
    }

    static JsonNode createKey(String credential, String body) {
        HttpResponse<String> r = as(credential, "POST", "/api/v1/api-keys", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r);
    }

    static void assertPointer(JsonNode problem, String pointer) {
        assertThat(problem.get("errors").get(0).get("pointer").asText()).isEqualTo(pointer);
    }

    @Test
    void aUserCannotGiveAKeyALimitAboveTheServersOwn() {
        String token = server.newUser("greedy");
        JsonNode refused = assertProblem(as(token, "POST", "/api/v1/api-keys", "{\"name\":\"max\",\"scopes\":"
                + "[\"models:read\"],\"rate_limit_per_minute\":2147483647}"), 422, "limit-too-high", "at most 60000");
        assertPointer(refused, "/rate_limit_per_minute");
        assertThat(json(as(token, "GET", "/api/v1/api-keys", null)).get("count").asInt()).as("nothing created").isZero();

        JsonNode fair = createKey(token, "{\"name\":\"fair\",\"scopes\":[\"models:read\"],\"rate_limit_per_minute\":100}");
        assertThat(fair.get("rate_limit_per_minute").asInt()).isEqualTo(100);
        HttpResponse<String> used = as(fair.get("key").asText(), "GET", "/api/v1/models", null);
        assertThat(used.statusCode()).isEqualTo(200);
        assertThat(used.headers().firstValue("RateLimit-Limit")).hasValue("100");

        // The administrator may raise it.
        JsonNode raised = createKey(server.adminKey(), "{\"name\":\"batch\",\"scopes\":[\"models:read\"],"
                + "\"rate_limit_per_minute\":1000000}");
        assertThat(raised.get("rate_limit_per_minute").asInt()).isEqualTo(1_000_000);
    }

    @Test
    void aLimitedKeyCannotMintAWiderKeyAndWhatItMintsIsRevokedWithIt() {
        String token = server.newUser("minter");
        JsonNode parent = createKey(token, "{\"name\":\"ci\",\"scopes\":[\"models:read\",\"predict\"],"
                + "\"rate_limit_per_minute\":30,\"daily_quota\":100,\"expires_in_days\":1}");
        String p = parent.get("key").asText();

        // The attack of the review: a permanent, unlimited key with more scopes, made with the limited one.
        assertPointer(assertProblem(as(p, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scopes\":[\"models:write\"]}"),
                403, "insufficient-scope", "'models:write'"), "/scopes");
        assertPointer(assertProblem(as(p, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scopes\":[\"predict\"],"
                + "\"rate_limit_per_minute\":31}"), 403, "insufficient-scope", "at most that"), "/rate_limit_per_minute");
        assertPointer(assertProblem(as(p, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scopes\":[\"predict\"],"
                + "\"daily_quota\":101}"), 403, "insufficient-scope", "at most that"), "/daily_quota");
        assertPointer(assertProblem(as(p, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scopes\":[\"predict\"],"
                + "\"expires_in_days\":30}"), 403, "insufficient-scope", "must expire by then"), "/expires_at");

        // Left out, the limits are the parent's; a narrower child works.
        JsonNode inherited = createKey(p, "{\"name\":\"same\",\"scopes\":[\"predict\"]}");
        assertThat(inherited.get("rate_limit_per_minute").asInt()).isEqualTo(30);
        assertThat(inherited.get("daily_quota").asInt()).isEqualTo(100);
        assertThat(inherited.get("expires_at").asText()).isEqualTo(parent.get("expires_at").asText());
        assertThat(inherited.get("parent_id").asLong()).isEqualTo(parent.get("id").asLong());
        JsonNode child = createKey(p, "{\"name\":\"narrow\",\"scopes\":[\"models:read\"],\"rate_limit_per_minute\":10}");
        String c = child.get("key").asText();
        HttpResponse<String> used = as(c, "GET", "/api/v1/models", null);
        assertThat(used.statusCode()).as(used.body()).isEqualTo(200);
        assertThat(used.headers().firstValue("RateLimit-Limit")).hasValue("10");
        String grandchild = createKey(c, "{\"name\":\"deeper\",\"scopes\":[\"models:read\"]}").get("key").asText();
        assertThat(as(grandchild, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        String sibling = server.createKey(token, "sibling", "[\"models:read\"]");
        // A key sees and revokes only itself and what it made: not its parent, not the owner's other keys.
        assertThat(json(as(c, "GET", "/api/v1/api-keys", null)).get("items").findValues("name").stream()
                .map(JsonNode::asText).toList()).containsExactlyInAnyOrder("narrow", "deeper");
        assertProblem(as(c, "DELETE", "/api/v1/api-keys/" + parent.get("id").asLong(), null), 404, "not-found",
                "that this key created");
        long siblingId = json(as(token, "GET", "/api/v1/api-keys", null)).get("items").findParents("name").stream()
                .filter(k -> k.get("name").asText().equals("sibling")).findFirst().orElseThrow().get("id").asLong();
        assertProblem(as(grandchild, "DELETE", "/api/v1/api-keys/" + siblingId, null), 404, "not-found",
                "that this key created");
        assertThat(as(p, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);

        assertThat(as(token, "DELETE", "/api/v1/api-keys/" + parent.get("id").asLong(), null).statusCode()).isEqualTo(200);
        assertProblem(as(p, "GET", "/api/v1/models", null), 401, "invalid-api-key", "revoked");
        assertProblem(as(c, "GET", "/api/v1/models", null), 401, "invalid-api-key", "revoked");
        assertProblem(as(grandchild, "GET", "/api/v1/models", null), 401, "invalid-api-key", "revoked");
        assertThat(json(as(token, "GET", "/api/v1/api-keys", null)).get("items").findValues("revoked_at").stream()
                .filter(JsonNode::isNull).count()).as("only the sibling is left").isEqualTo(1);
        assertThat(as(sibling, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);

        // Deleting the user ends what their keys made too.
        String other = server.createKey(token, "other", "[\"models:read\"]");
        String otherChild = createKey(other, "{\"name\":\"oc\",\"scopes\":[\"models:read\"]}").get("key").asText();
        long id = json(as(token, "GET", "/api/v1/auth/me", null)).get("id").asLong();
        assertThat(as(server.adminKey(), "DELETE", "/api/v1/users/" + id, null).statusCode()).isEqualTo(204);
        assertProblem(as(otherChild, "GET", "/api/v1/models", null), 401, "invalid-api-key", "");
    }

    @Test
    void childKeysDrawFromTheirParentsLimitSoMintingDoesNotMultiplyIt() {
        String token = server.newUser("multiplier");
        String p = createKey(token, "{\"name\":\"three\",\"scopes\":[\"models:read\"],\"rate_limit_per_minute\":3}")
                .get("key").asText();
        String child = createKey(p, "{\"name\":\"c\",\"scopes\":[\"models:read\"]}").get("key").asText();
        assertThat(as(child, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        assertThat(as(child, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        HttpResponse<String> refused = as(child, "GET", "/api/v1/models", null);
        assertProblem(refused, 429, "rate-limited", "3 requests per minute");
        assertProblem(as(p, "GET", "/api/v1/models", null), 429, "rate-limited", "3 requests per minute");
        assertThat(as(token, "GET", "/api/v1/models", null).statusCode()).as("the user's session is apart")
                .isEqualTo(200);
    }

    @Test
    void anotherUsersIdenticalRequestToAPublicModelIsNoHitAndRevealsNothing() {
        String owner = server.newUser("publisher");
        String boundary = "pub";
        HttpResponse<String> up = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/shared-iris/versions"))
                .header("Authorization", "Bearer " + owner).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "i.onnx",
                        fixture("iris_rf.onnx")))).build());
        assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
        assertThat(as(owner, "PATCH", "/api/v1/models/shared-iris", "{\"public\": true}").statusCode()).isEqualTo(200);
        String a = server.newUser("caller-a");
        String b = server.newUser("caller-b");
        String path = "/api/v1/models/shared-iris/predict";

        HttpResponse<String> first = as(a, "POST", path, ROW);
        assertThat(first.headers().firstValue("X-Cache")).hasValue("miss");
        HttpResponse<String> again = as(a, "POST", path, ROW);
        assertThat(again.headers().firstValue("X-Cache")).as("A's own repeat").hasValue("hit");

        HttpResponse<String> probe = as(b, "POST", path, ROW);
        assertThat(probe.statusCode()).as(probe.body()).isEqualTo(200);
        assertThat(probe.headers().firstValue("X-Cache")).hasValue("miss");
        JsonNode answer = json(probe);
        assertThat(answer.get("cache").asText()).isEqualTo("miss");
        assertThat(answer.get("inference_ms").asDouble()).as("the model ran for B").isPositive();
        assertThat(answer.get("predictions")).isEqualTo(json(first).get("predictions"));

        String v2 = "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[6.1,2.8,4.7,1.2]}]}";
        as(a, "POST", "/v2/models/shared-iris/infer", v2);
        HttpResponse<String> v2probe = as(b, "POST", "/v2/models/shared-iris/infer", v2);
        assertThat(v2probe.headers().firstValue("X-Cache")).hasValue("miss");
        assertThat(json(v2probe).get("parameters").get("cache").asText()).isEqualTo("miss");

        // Anonymous callers: each address has its own answers too.
        as(null, "POST", path, ROW);
        HttpResponse<String> anonymousElsewhere = fromElsewhere(request(server, null, "POST", path, ROW));
        assertThat(anonymousElsewhere.statusCode()).as(anonymousElsewhere.body()).isEqualTo(200);
        assertThat(anonymousElsewhere.headers().firstValue("X-Cache")).hasValue("miss");

        // Nor does the owner learn what the others asked; the owner's own repeats are still hits.
        assertThat(as(owner, "POST", path, ROW).headers().firstValue("X-Cache")).hasValue("miss");
        assertThat(as(owner, "POST", path, ROW).headers().firstValue("X-Cache")).hasValue("hit");
        String ownersKey = server.createKey(owner, "owner-key", "[\"predict\"]");
        assertThat(as(ownersKey, "POST", path, ROW).headers().firstValue("X-Cache")).as("the owner's key shares")
                .hasValue("hit");
    }

    @Test
    void fortyFastRegistrationsFromOneAddressAreCutOffWith429AndLoginFromThereIsLimitedToo(@TempDir Path dir) {
        try (TestServer limited = TestServer.start(dir, Map.of("SERVEML_AUTH_RATE_LIMIT", "10"))) {
            // Starting the server signed in once from this address: 9 tokens are left.
            List<HttpResponse<String>> answers = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                answers.add(limited.sendRaw(request(limited, null, "POST", "/api/v1/auth/register",
                        credentials("flood" + i, "password-of-flood"))));
            }
            for (int i = 0; i < 9; i++) {
                assertThat(answers.get(i).statusCode()).as(answers.get(i).body()).isEqualTo(201);
            }
            long refused = 0;
            for (HttpResponse<String> r : answers.subList(9, 40)) {
                if (r.statusCode() != 201) {
                    assertProblem(r, 429, "rate-limited", "sign-in requests");
                    assertThat(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 60L);
                    refused++;
                }
            }
            assertThat(refused).as("after the budget of 10 a minute").isGreaterThanOrEqualTo(25);

            // Login and refresh from this address draw from the same bucket.
            boolean loginRefused = false;
            for (int i = 0; i < 3 && !loginRefused; i++) {
                HttpResponse<String> login = limited.sendRaw(request(limited, null, "POST", "/api/v1/auth/login",
                        credentials("flood0", "password-of-flood")));
                loginRefused = login.statusCode() == 429;
                if (loginRefused) {
                    assertProblem(login, 429, "rate-limited", "from this address");
                }
            }
            assertThat(loginRefused).isTrue();

            // Another address registers and signs in as usual.
            HttpResponse<String> other = fromElsewhere(request(limited, null, "POST", "/api/v1/auth/register",
                    credentials("neighbour", "password-of-neighbour")));
            assertThat(other.statusCode()).as(other.body()).isEqualTo(201);
            HttpResponse<String> signedIn = fromElsewhere(request(limited, null, "POST", "/api/v1/auth/login",
                    credentials("neighbour", "password-of-neighbour")));
            assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(200);
        }
    }

    @Test
    void aFloodOfConcurrentRegistrationsIsRefusedWith503RatherThanQueuedOnTheWorkerPool(@TempDir Path dir) {
        try (TestServer bounded = TestServer.start(dir, Map.of("SERVEML_BCRYPT_COST", "12",
                "SERVEML_BCRYPT_CONCURRENCY", "1"))) {
            HttpClient client = HttpClient.newHttpClient();
            List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                sent.add(client.sendAsync(request(bounded, null, "POST", "/api/v1/auth/register",
                        credentials("burst" + i, "password-of-burst")), HttpResponse.BodyHandlers.ofString()));
            }
            int created = 0;
            int refused = 0;
            for (CompletableFuture<HttpResponse<String>> f : sent) {
                HttpResponse<String> r = f.join();
                if (r.statusCode() == 201) {
                    created++;
                } else {
                    assertProblem(r, 503, "service-unavailable", "retry");
                    assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
                    refused++;
                }
            }
            assertThat(created).isPositive();
            assertThat(refused).as("at most 3 hash or wait at once").isPositive();
            // The server is not stuck: health and a later registration answer.
            assertThat(bounded.sendRaw(request(bounded, null, "GET", "/health/live", null)).statusCode()).isEqualTo(200);
            assertThat(bounded.sendRaw(request(bounded, null, "POST", "/api/v1/auth/register",
                    credentials("after-burst", "password-of-burst"))).statusCode()).isEqualTo(201);
        }
    }

    @Test
    void wrongPasswordsFromAnAttackersAddressDoNotLockTheOwnerOut() {
        server.newUser("lockme");
        HttpResponse<String> last = null;
        for (int i = 0; i < 12; i++) {
            last = fromElsewhere(request(server, null, "POST", "/api/v1/auth/login", credentials("lockme", "guess-" + i)));
        }
        assertProblem(last, 429, "login-throttled", "wait");
        assertThat(last.headers().firstValue("Retry-After")).isPresent();
        assertProblem(fromElsewhere(request(server, null, "POST", "/api/v1/auth/login",
                credentials("lockme", "password-of-lockme"))), 429, "login-throttled", "wait");

        HttpResponse<String> owner = as(null, "POST", "/api/v1/auth/login", credentials("lockme", "password-of-lockme"));
        assertThat(owner.statusCode()).as(owner.body()).isEqualTo(200);
        assertThat(json(owner).get("access_token").asText()).isNotBlank();
    }

    @Test
    void aPasswordLongerThanBcryptReadsIsRefusedAtRegistrationAndWrongAtLoginNeverA500() {
        String hundred = "p".repeat(100);
        JsonNode weak = assertProblem(as(null, "POST", "/api/v1/auth/register", credentials("longpw", hundred)), 422,
                "weak-password", "at most 72 bytes");
        assertPointer(weak, "/password");
        // Multi-byte characters count as their UTF-8 bytes: 25 x 3 bytes = 75.
        assertProblem(as(null, "POST", "/api/v1/auth/register", credentials("longpw", "\u20ac".repeat(25))), 422,
                "weak-password", "at most 72 bytes");

        String seventyTwo = "q".repeat(72);
        assertThat(as(null, "POST", "/api/v1/auth/register", credentials("longpw", seventyTwo)).statusCode())
                .isEqualTo(201);
        assertThat(as(null, "POST", "/api/v1/auth/login", credentials("longpw", seventyTwo)).statusCode()).isEqualTo(200);
        assertProblem(as(null, "POST", "/api/v1/auth/login", credentials("longpw", hundred)), 401,
                "invalid-credentials", "wrong");
        assertProblem(as(null, "POST", "/api/v1/auth/login", credentials("longpw", seventyTwo + "extra")), 401,
                "invalid-credentials", "wrong");
        assertProblem(as(null, "POST", "/api/v1/auth/login", credentials("nobody-at-all", hundred)), 401,
                "invalid-credentials", "wrong");
    }
}
