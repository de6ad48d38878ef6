package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import java.util.Map;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Accounts, sessions, keys, public models, rate limits, quotas and the audit log, over real HTTP. */
class AuthIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;

    @BeforeAll
    static void start() {
        server = shared.server();
    }

    static HttpResponse<String> as(String credential, String method, String path, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path));
        if (credential != null) {
            b.header("Authorization", "Bearer " + credential);
        }
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        return server.sendRaw(b.method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(json)).build());
    }

    static HttpResponse<String> login(String user, String password) {
        return as(null, "POST", "/api/v1/auth/login", "{\"username\":\"" + user + "\",\"password\":\"" + password + "\"}");
    }

    @Test
    void registerLoginAndMeGiveAShortLivedTokenAndARefreshToken() {
        HttpResponse<String> reg = as(null, "POST", "/api/v1/auth/register",
                "{\"username\":\"alice\",\"password\":\"correct horse battery\"}");
        assertThat(reg.statusCode()).as(reg.body()).isEqualTo(201);
        assertThat(json(reg).get("role").asText()).isEqualTo("user");
        assertThat(reg.body()).doesNotContain("password", "$2");
        JsonNode session = json(login("alice", "correct horse battery"));
        assertThat(session.get("token_type").asText()).isEqualTo("Bearer");
        assertThat(session.get("expires_in").asLong()).isBetween(15 * 60L, 30 * 60L);
        assertThat(session.get("refresh_expires_in").asLong()).isEqualTo(7 * 24 * 3600L);
        JsonNode me = json(as(session.get("access_token").asText(), "GET", "/api/v1/auth/me", null));
        assertThat(me.get("username").asText()).isEqualTo("alice");
        assertThat(me.get("scopes").toString()).contains("predict", "models:write").doesNotContain("admin");

        assertProblem(as(null, "POST", "/api/v1/auth/register", "{\"username\":\"alice\",\"password\":\"another long one\"}"),
                409, "name-taken", "taken");
        assertProblem(as(null, "POST", "/api/v1/auth/register", "{\"username\":\"bob\",\"password\":\"short\"}"),
                422, "weak-password", "at least 10");
        assertProblem(login("alice", "wrong password!"), 401, "invalid-credentials", "wrong");
        assertProblem(login("nobody-here", "wrong password!"), 401, "invalid-credentials", "wrong");
    }

    @Test
    void refreshRotatesAndReusingASpentTokenRevokesTheWholeFamily() {
        server.newUser("carol");
        JsonNode first = json(login("carol", "password-of-carol"));
        String spent = first.get("refresh_token").asText();
        HttpResponse<String> second = as(null, "POST", "/api/v1/auth/refresh", "{\"refresh_token\":\"" + spent + "\"}");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        String current = json(second).get("refresh_token").asText();
        assertThat(current).isNotEqualTo(spent);

        assertProblem(as(null, "POST", "/api/v1/auth/refresh", "{\"refresh_token\":\"" + spent + "\"}"), 401,
                "invalid-refresh-token", "already used");
        assertProblem(as(null, "POST", "/api/v1/auth/refresh", "{\"refresh_token\":\"" + current + "\"}"), 401,
                "invalid-refresh-token", "revoked");

        JsonNode again = json(login("carol", "password-of-carol"));
        assertThat(as(null, "POST", "/api/v1/auth/logout", "{\"refresh_token\":\"" + again.get("refresh_token").asText()
                + "\"}").statusCode()).isEqualTo(204);
        assertProblem(as(null, "POST", "/api/v1/auth/refresh", "{\"refresh_token\":\"" + again.get("refresh_token").asText()
                + "\"}"), 401, "invalid-refresh-token", "revoked");
    }

    @Test
    void aRegistrationWithSeveralInvalidFieldsReportsThemAll() {
        JsonNode p = assertProblem(as(null, "POST", "/api/v1/auth/register",
                "{\"username\":\"X!\",\"password\":\"short\"}"), 400, "invalid-request", "usernames are 3-64");
        assertThat(p.get("detail").asText()).contains("at least 10");
        assertThat(p.get("errors").findValuesAsText("pointer")).containsExactly("/username", "/password");
        JsonNode missing = assertProblem(as(null, "POST", "/api/v1/auth/register", "{}"), 400, "invalid-request",
                "a username is required");
        assertThat(missing.get("errors").findValuesAsText("pointer")).containsExactly("/username", "/password");
        assertThat(as(null, "POST", "/api/v1/auth/register", "{\"username\":\"dora\",\"password\":\"long enough now\"}")
                .statusCode()).isEqualTo(201);
    }

    @Test
    void theAuditLogNamesTheUserOfALogoutAsItDoesForASignIn() {
        server.newUser("lou");
        JsonNode session = json(login("lou", "password-of-lou"));
        assertThat(as(null, "POST", "/api/v1/auth/logout", "{\"refresh_token\":\"" + session.get("refresh_token")
                .asText() + "\"}").statusCode()).isEqualTo(204);

        JsonNode logouts = json(as(server.adminKey(), "GET", "/api/v1/audit?action=auth.logout&limit=500", null));
        assertThat(logouts.get("items")).anySatisfy(e -> {
            assertThat(e.get("actor").asText()).isEqualTo("lou");
            assertThat(e.get("target").asText()).isEqualTo("user:lou");
        });
        assertThat(logouts.get("items").findValuesAsText("actor")).noneMatch(a -> a.startsWith("user:"));
    }

    @Test
    void malformedWronglySignedAndUnsignedTokensAre401AndSayWhich() throws Exception {
        assertProblem(as("not.a.jwt", "GET", "/api/v1/auth/me", null), 401, "invalid-token", "well-formed");
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer("serveml").subject("1").claim("name", "admin")
                .claim("role", "admin").expirationTime(Date.from(Instant.now().plusSeconds(600))).build();
        SignedJWT forged = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        forged.sign(new MACSigner("some-other-secret-that-is-32-characters-or-more".getBytes(StandardCharsets.UTF_8)));
        HttpResponse<String> r = as(forged.serialize(), "GET", "/api/v1/auth/me", null);
        assertProblem(r, 401, "invalid-token", "signature");
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"serveml\"");
        String none = new PlainJWT(claims).serialize();
        assertProblem(as(none, "GET", "/api/v1/auth/me", null), 401, "invalid-token", "");
        String noneWithDot = Base64URL.encode("{\"alg\":\"none\"}") + "." + Base64URL.encode(claims.toString()) + ".";
        assertProblem(as(noneWithDot, "GET", "/api/v1/auth/me", null), 401, "invalid-token", "");
        HttpResponse<String> basic = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/auth/me"))
                .header("Authorization", "Basic YWRtaW46YWRtaW4=").build());
        assertProblem(basic, 401, "invalid-token", "Bearer");
    }

    @Test
    void aDeletedUsersTokensAndKeysStopWorkingAtOnce() {
        String token = server.newUser("zed");
        String key = json(as(token, "POST", "/api/v1/api-keys", "{\"name\":\"z\",\"scopes\":[\"models:read\"]}"))
                .get("key").asText();
        assertThat(as(key, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        long id = json(as(token, "GET", "/api/v1/auth/me", null)).get("id").asLong();
        assertProblem(as(token, "DELETE", "/api/v1/users/" + id, null), 403, "insufficient-scope", "admin");
        JsonNode users = json(as(server.adminKey(), "GET", "/api/v1/users", null));
        assertThat(users.get("items").findValuesAsText("username")).contains("zed");
        assertThat(as(server.adminKey(), "DELETE", "/api/v1/users/" + id, null).statusCode()).isEqualTo(204);
        assertProblem(as(token, "GET", "/api/v1/auth/me", null), 401, "invalid-token", "no longer exists");
        assertProblem(as(key, "GET", "/api/v1/models", null), 401, "invalid-api-key", "no longer exists");
        assertProblem(login("zed", "password-of-zed"), 401, "invalid-credentials", "wrong");
    }

    @Test
    void apiKeysAreShownOnceWorkByEitherHeaderAndRevocationIsImmediate() {
        String token = server.newUser("dave");
        HttpResponse<String> created = as(token, "POST", "/api/v1/api-keys",
                "{\"name\":\"ci\",\"scopes\":[\"predict\",\"models:read\"],\"expires_in_days\":30}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode key = json(created);
        String secret = key.get("key").asText();
        assertThat(secret).startsWith(key.get("prefix").asText() + "_");
        JsonNode list = json(as(token, "GET", "/api/v1/api-keys", null));
        assertThat(list.get("count").asInt()).isEqualTo(1);
        assertThat(list.get("items").get(0).get("key").isNull()).isTrue();
        assertThat(list.toString()).doesNotContain(secret);

        assertThat(as(secret, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        assertThat(server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models")).header("X-API-Key", secret)
                .build()).statusCode()).isEqualTo(200);
        assertProblem(as(secret, "DELETE", "/api/v1/models/anything", null), 403, "insufficient-scope", "models:write");
        assertProblem(as(token, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scopes\":[\"admin\"]}"), 403,
                "insufficient-scope", "'admin'");
        assertProblem(as(token, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scopes\":[\"fly\"]}"), 400,
                "invalid-request", "unknown scope 'fly'");

        assertThat(as(token, "DELETE", "/api/v1/api-keys/" + key.get("id").asLong(), null).statusCode()).isEqualTo(200);
        assertProblem(as(secret, "GET", "/api/v1/models", null), 401, "invalid-api-key", "revoked");
        assertProblem(as(secret.substring(0, secret.length() - 2) + "xx", "GET", "/api/v1/models", null), 401,
                "invalid-api-key", "not known");
    }

    @Test
    void aPublicModelAnswersAnonymousCallersAndAPrivateOneAsksForCredentials() {
        String token = server.newUser("erin");
        String boundary = "b1";
        HttpResponse<String> up = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/erin-iris/versions"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "i.onnx",
                        fixture("iris_rf.onnx")))).build());
        assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
        String row = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";
        assertProblem(as(null, "POST", "/api/v1/models/erin-iris/predict", row), 401, "authentication-required", "public");
        assertProblem(as(null, "POST", "/api/v1/models/nonexistent/predict", row), 401, "authentication-required", "");

        HttpResponse<String> patched = as(token, "PATCH", "/api/v1/models/erin-iris", "{\"public\": true}");
        assertThat(json(patched).get("public").asBoolean()).isTrue();
        HttpResponse<String> anon = as(null, "POST", "/api/v1/models/erin-iris/predict", row);
        assertThat(anon.statusCode()).as(anon.body()).isEqualTo(200);
        assertThat(anon.headers().firstValue("RateLimit-Limit")).hasValue("600");
        assertThat(anon.headers().firstValue("RateLimit-Remaining")).isPresent();
        assertThat(anon.headers().firstValue("RateLimit-Reset")).isPresent();
        assertThat(as(null, "GET", "/v2/models/erin-iris", null).statusCode()).isEqualTo(200);
        assertProblem(as(null, "GET", "/api/v1/models/erin-iris", null), 401, "authentication-required", "");
    }

    @Test
    void aKeysOwnLimitAndDailyQuotaAnswer429WithRetryAfter() {
        String token = server.newUser("frank");
        String limited = json(as(token, "POST", "/api/v1/api-keys",
                "{\"name\":\"slow\",\"scopes\":[\"models:read\"],\"rate_limit_per_minute\":3}")).get("key").asText();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> ok = as(limited, "GET", "/api/v1/models", null);
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.headers().firstValue("RateLimit-Remaining")).hasValue(Integer.toString(2 - i));
        }
        HttpResponse<String> refused = as(limited, "GET", "/api/v1/models", null);
        assertProblem(refused, 429, "rate-limited", "3 requests per minute");
        assertThat(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 60L);
        assertThat(refused.headers().firstValue("RateLimit-Remaining")).hasValue("0");

        String quota = json(as(token, "POST", "/api/v1/api-keys",
                "{\"name\":\"quota\",\"scopes\":[\"models:read\"],\"daily_quota\":2}")).get("key").asText();
        assertThat(as(quota, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        assertThat(as(quota, "GET", "/api/v1/models", null).statusCode()).isEqualTo(200);
        HttpResponse<String> over = as(quota, "GET", "/api/v1/models", null);
        assertProblem(over, 429, "quota-exceeded", "daily quota of 2");
        assertThat(Long.parseLong(over.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 86_400L);
    }

    @Test
    void aModelsOwnPerCallerLimitIsEnforcedOnItsPredictRoutes() {
        String token = server.newUser("gina");
        String boundary = "b2";
        server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/gina-iris/versions"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "i.onnx",
                        fixture("iris_rf.onnx")))).build());
        as(token, "PATCH", "/api/v1/models/gina-iris", "{\"rate_limit_per_minute\": 2}");
        String row = "{\"features\": [5.1, 3.5, 1.4, 0.2]}";
        assertThat(as(token, "POST", "/api/v1/models/gina-iris/predict", row).statusCode()).isEqualTo(200);
        assertThat(as(token, "POST", "/api/v1/models/gina-iris/predict", row).statusCode()).isEqualTo(200);
        assertProblem(as(token, "POST", "/api/v1/models/gina-iris/predict", row), 429, "rate-limited",
                "2 requests per minute per caller");
    }

    @Test
    void repeatedFailedLoginsAreSlowedDown() {
        server.newUser("hank");
        for (int i = 0; i < 5; i++) {
            assertProblem(login("hank", "not the password"), 401, "invalid-credentials", "wrong");
        }
        assertProblem(login("hank", "not the password"), 401, "invalid-credentials", "wrong");
        HttpResponse<String> slowed = login("hank", "password-of-hank");
        assertProblem(slowed, 429, "login-throttled", "wait");
        assertThat(slowed.headers().firstValue("Retry-After")).isPresent();
    }

    @Test
    void theAuditLogRecordsSignInsKeysAndModelChangesAndUsersSeeOnlyTheirOwn() {
        String token = server.newUser("ivy");
        login("ivy", "wrong wrong wrong");
        JsonNode key = json(as(token, "POST", "/api/v1/api-keys", "{\"name\":\"audited\",\"scopes\":[\"predict\"]}"));
        as(token, "DELETE", "/api/v1/api-keys/" + key.get("id").asLong(), null);
        String boundary = "b3";
        server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/ivy-iris/versions"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "i.onnx",
                        fixture("iris_rf.onnx")))).build());
        as(token, "PATCH", "/api/v1/models/ivy-iris", "{\"public\": true}");
        as(token, "DELETE", "/api/v1/models/ivy-iris/versions/1", null);
        as(token, "DELETE", "/api/v1/models/ivy-iris", null);

        JsonNode mine = json(as(token, "GET", "/api/v1/audit?limit=100", null));
        assertThat(mine.get("items").findValuesAsText("action")).contains("user.registered", "auth.login",
                "api_key.created", "api_key.revoked", "model.version_uploaded", "model.settings_changed",
                "model.version_deleted", "model.deleted");
        assertThat(mine.get("items").findValuesAsText("actor")).containsOnly("ivy");
        JsonNode entry = mine.get("items").get(0);
        assertThat(entry.get("ip").asText()).isEqualTo("127.0.0.1");
        assertThat(entry.get("target").asText()).isEqualTo("model:ivy-iris");

        JsonNode failures = json(as(server.adminKey(), "GET", "/api/v1/audit?action=auth.login&limit=500", null));
        assertThat(failures.get("items")).anySatisfy(e -> {
            assertThat(e.get("actor").asText()).isEqualTo("ivy");
            assertThat(e.get("outcome").asText()).isEqualTo("failure");
        });
        JsonNode page = json(as(server.adminKey(), "GET", "/api/v1/audit?limit=2", null));
        assertThat(page.get("count").asInt()).isEqualTo(2);
        assertThat(page.get("next").asText()).startsWith("/api/v1/audit?before_id=");
        assertProblem(as(token, "GET", "/api/v1/audit?since=yesterday", null), 400, "invalid-request", "ISO-8601");
    }

    @Test
    void withAuthOffNoCredentialIsNeededAndCorsIsOffByDefault(@TempDir Path other) {
        try (TestServer open = TestServer.start(other, Map.of("SERVEML_AUTH", "off",
                "SERVEML_CORS_ORIGINS", "http://app.example"))) {
            open.useCredential(null);
            assertThat(open.get("/api/v1/models").statusCode()).isEqualTo(200);
            assertThat(open.upload("free", "f.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            HttpResponse<String> preflight = open.sendRaw(HttpRequest.newBuilder(open.uri("/api/v1/models"))
                    .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Origin", "http://app.example")
                    .header("Access-Control-Request-Method", "GET").build());
            assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).hasValue("http://app.example");
        }
        HttpResponse<String> noCors = server.sendRaw(HttpRequest.newBuilder(server.uri("/health/live"))
                .header("Origin", "http://app.example").build());
        assertThat(noCors.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }
}
