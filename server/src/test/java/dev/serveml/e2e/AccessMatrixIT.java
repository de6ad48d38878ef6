package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.serveml.http.Access;
import dev.serveml.http.HttpApi;
import dev.serveml.hub.FakeHub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every route the server declares (the same set the OpenAPI description lists, see
 * OperationsIT) called with no credential, another tenant's token, a key lacking the scope, an
 * expired token, and the owner's token. A route added without the right rule fails here.
 */
class AccessMatrixIT {
    static final String SECRET = "a-test-secret-that-is-at-least-32-characters-long";

    @TempDir
    static Path dataDir;
    static TestServer server;
    static String owner;
    static String intruder;
    static String unscopedKey;
    /** For routes that need deployments:write, the key without their scope. */
    static String predictOnlyKey;
    static String expired;
    /** The routes of an import (`.../imports/:id`) are called with a real import of the owner's. */
    static final String HUB_REPO = "acme/matrix";
    static FakeHub hub;

    @BeforeAll
    static void start() throws Exception {
        hub = new FakeHub();
        hub.fixture(HUB_REPO, "4444444444444444444444444444444444444444", "bert-tiny-sst2");
        server = TestServer.start(dataDir, Map.of("SERVEML_JWT_SECRET", SECRET,
                "SERVEML_HF_ENDPOINT", hub.endpoint().toString(), "SERVEML_HF_CACHE", dataDir.resolve("hf").toString()));
        owner = server.newUser("owner");
        intruder = server.newUser("intruder");
        unscopedKey = server.createKey(owner, "useless", "[\"deployments:write\"]");
        predictOnlyKey = server.createKey(owner, "predict-only", "[\"predict\"]");
        long ownerId = json(server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/auth/me"))
                .header("Authorization", "Bearer " + owner).build())).get("id").asLong();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().issuer("serveml")
                .subject(Long.toString(ownerId)).claim("name", "owner").claim("role", "user")
                .issueTime(Date.from(Instant.now().minusSeconds(3600)))
                .expirationTime(Date.from(Instant.now().minusSeconds(600))).build());
        jwt.sign(new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8)));
        expired = jwt.serialize();
    }

    @AfterAll
    static void stop() {
        server.close();
        hub.close();
    }

    record Call(String credential, String label) {
    }

    @Test
    void everyRouteAnswersEachKindOfCallerAsItsRuleSays() {
        List<String> failures = new ArrayList<>();
        int i = 0;
        for (HttpApi.Endpoint e : server.server().api().endpoints()) {
            if (e.path().endsWith("*")) {
                continue;
            }
            i++;
            // A fresh model (and key) per route, so that destructive calls do not disturb the others.
            String model = "m" + i;
            upload(model);
            String keyId = json(server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/api-keys"))
                    .header("Authorization", "Bearer " + owner).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"k" + i + "\", \"scopes\": [\"predict\"]}"))
                    .build())).get("id").asText();
            String target = model;
            if (e.path().startsWith("/api/v1/deployments/:name")) {
                target = "d" + i;
                deploy(target, model);
            }
            String id = keyId;
            if (e.path().contains("/imports/:id")) {
                HttpResponse<String> imported = server.sendRaw(HttpRequest.newBuilder(server.uri(
                                "/api/v1/models/" + model + "/versions")).header("Authorization", "Bearer " + owner)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"source\": \"hf://" + HUB_REPO + "\"}")).build());
                assertThat(imported.statusCode()).as(imported.body()).isEqualTo(202);
                id = json(imported).get("id").asText();
            }
            if (e.path().startsWith("/api/v1/jobs/:id")) {
                id = ownersJob(model);
            } else if (e.path().startsWith("/api/v1/files/:id")) {
                id = ownersFile();
            } else if (e.path().startsWith("/v1/batches/:id")) {
                id = ownersBatch(model);
            } else if (e.path().startsWith("/v1/files/:id")) {
                id = ownersBatchFile(model);
            }
            boolean ownedById = e.path().startsWith("/api/v1/jobs/:id") || e.path().startsWith("/api/v1/files/:id")
                    || e.path().startsWith("/v1/batches/:id") || e.path().startsWith("/v1/files/:id");
            String path = e.path().replace(":name", target).replace(":version", "1").replace(":id", id);
            boolean modelRoute = e.path().contains(":name");
            Access a = e.access();
            String withoutScope = a.scope() == dev.serveml.auth.Scope.DEPLOYMENTS_WRITE ? predictOnlyKey : unscopedKey;
            for (Call call : List.of(new Call(null, "none"), new Call(intruder, "other tenant"),
                    new Call(withoutScope, "key without scope"), new Call(expired, "expired token"),
                    new Call(owner, "owner"))) {
                int status = call(e, path, call.credential()).statusCode();
                String where = e.method() + " " + e.path() + " as " + call.label() + ": " + status;
                switch (a.kind()) {
                    case PUBLIC -> expect(failures, where, status != 401 && status != 403);
                    case AUTHENTICATED -> {
                        switch (call.label()) {
                            case "none", "expired token" -> expect(failures, where, status == 401);
                            case "other tenant" -> expect(failures, where, status != 401 && status != 403
                                    && (!e.path().contains(":id") || status == 404));
                            // A key manages only itself and the keys it made: the owner's other key is not one.
                            case "key without scope" -> expect(failures, where, e.path().equals("/api/v1/api-keys/:id")
                                    ? status == 404 : status != 401 && status != 403 && status != 404);
                            default -> expect(failures, where, status != 401 && status != 403 && status != 404);
                        }
                    }
                    case SCOPE, OPTIONAL -> {
                        boolean adminOnly = a.scope() == dev.serveml.auth.Scope.ADMIN;
                        switch (call.label()) {
                            case "none" -> expect(failures, where, status == 401);
                            case "expired token" -> expect(failures, where, status == 401);
                            case "key without scope" -> expect(failures, where, status == 403);
                            case "other tenant" -> expect(failures, where, adminOnly ? status == 403
                                    : modelRoute ? (status == 404 || (e.path().endsWith("/versions")
                                    && e.method().name().equals("POST") && status == 409))
                                    : ownedById ? status == 404
                                    : status != 401 && status != 403);
                            default -> expect(failures, where, adminOnly ? status == 403
                                    : status != 401 && status != 403 && status != 404);
                        }
                    }
                }
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void theOtherTenantNeverSeesTheOwnersModelsInLists() {
        upload("listed-privately");
        JsonNode theirs = json(server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models"))
                .header("Authorization", "Bearer " + intruder).build()));
        assertThat(theirs.get("items").findValuesAsText("name")).doesNotContain("listed-privately");
        JsonNode mine = json(server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models"))
                .header("Authorization", "Bearer " + owner).build()));
        assertThat(mine.get("items").findValuesAsText("name")).contains("listed-privately");
    }

    private static void expect(List<String> failures, String where, boolean ok) {
        if (!ok) {
            failures.add(where);
        }
    }

    private static void upload(String model) {
        String boundary = "b" + UUID.randomUUID();
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/" + model + "/versions"))
                .header("Authorization", "Bearer " + owner)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "m.onnx",
                        fixture("iris_rf.onnx")))).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    /** A job of the owner's over {@code model}, for the routes of one job. */
    private static String ownersJob(String model) {
        String boundary = "b" + UUID.randomUUID();
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/jobs"))
                .header("Authorization", "Bearer " + owner)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(JobClient.multipart(boundary, "rows.csv",
                        "a,b,c,d\n1,2,3,4\n".getBytes(StandardCharsets.UTF_8), "{\"model\": \"" + model + "\"}")))
                .build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r).get("id").asText();
    }

    /** A file of the owner's, for the routes of one file. */
    private static String ownersFile() {
        String boundary = "b" + UUID.randomUUID();
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/files"))
                .header("Authorization", "Bearer " + owner)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "rows.csv",
                        "a,b,c,d\n1,2,3,4\n".getBytes(StandardCharsets.UTF_8)))).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r).get("id").asText();
    }

    /** A file of request lines of the owner's (OpenAI's purpose batch), for the routes of one /v1 file. */
    private static String ownersBatchFile(String model) {
        String boundary = "b" + UUID.randomUUID();
        byte[] purpose = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n")
                .getBytes(StandardCharsets.UTF_8);
        byte[] file = TestServer.multipart(boundary, "file", "requests.jsonl", ("{\"custom_id\": \"1\", \"method\": "
                + "\"POST\", \"url\": \"/api/v1/models/" + model + "/predict\", \"body\": {\"features\": "
                + "[5.1, 3.5, 1.4, 0.2]}}\n").getBytes(StandardCharsets.UTF_8));
        byte[] body = java.util.Arrays.copyOf(purpose, purpose.length + file.length);
        System.arraycopy(file, 0, body, purpose.length, file.length);
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/v1/files"))
                .header("Authorization", "Bearer " + owner)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("id").asText();
    }

    /** An OpenAI batch of the owner's over {@code model}, for the routes of one batch. */
    private static String ownersBatch(String model) {
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/v1/batches"))
                .header("Authorization", "Bearer " + owner).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\": \"" + ownersBatchFile(model)
                        + "\", \"endpoint\": \"/api/v1/models/" + model + "/predict\", \"completion_window\": "
                        + "\"24h\"}")).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("id").asText();
    }

    private static void deploy(String name, String model) {
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/deployments"))
                .header("Authorization", "Bearer " + owner).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"" + name + "\", \"model\": \"" + model
                        + "\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}")).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    private static HttpResponse<String> call(HttpApi.Endpoint e, String path, String credential) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path));
        if (credential != null) {
            b.header("Authorization", "Bearer " + credential);
        }
        String method = e.method().name();
        if (method.equals("GET") || method.equals("DELETE")) {
            return server.sendRaw(b.method(method, HttpRequest.BodyPublishers.noBody()).build());
        }
        if (e.path().endsWith("/versions")) {
            String boundary = "b" + UUID.randomUUID();
            return server.sendRaw(b.header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file",
                            "m.onnx", fixture("iris_rf.onnx")))).build());
        }
        String body = e.path().endsWith("/predict") ? "{\"features\": [5.1, 3.5, 1.4, 0.2]}"
                : e.path().endsWith("/infer") ? "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\","
                + "\"data\":[5.1,3.5,1.4,0.2]}]}"
                : e.path().endsWith("/versions/:version") ? "{\"state\": \"deprecated\"}"
                : e.path().equals("/api/v1/models/:name") ? "{\"description\": \"x\"}"
                : e.path().equals("/api/v1/deployments/:name") ? "{\"config\": {\"timeout\": \"10s\"}}"
                : e.path().equals("/api/v1/api-keys") ? "{\"name\": \"n\", \"scopes\": [\"deployments:write\"]}" : "{}";
        return server.sendRaw(b.header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
    }
}
