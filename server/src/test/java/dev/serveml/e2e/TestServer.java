package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.config.ConfigLoader;
import dev.serveml.server.ServemlServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A real ServeML on port 0 (embedded PostgreSQL, filesystem artifacts under a temporary data
 * dir) and a real HTTP client for it. Either a server of the test's own ({@link #start}, closed
 * by the test) or a class's handle on the JVM's shared server (see {@link SharedServer}): the
 * handle has its own client and credential, and closing it leaves the server running.
 */
final class TestServer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    private final Path dataDir;
    private final Map<String, String> env;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final String ADMIN_PASSWORD = "admin-password-for-tests";

    private ServemlServer server;
    /** Sent as {@code Authorization: Bearer ...} by every helper below; null sends nothing. */
    private String bearer;
    private final String adminKey;
    /** A handle on the shared server: it is neither restarted nor closed through this object. */
    private final boolean shared;
    /** On the shared server: the model names each class has uploaded to, to catch two classes using one. */
    private final Map<String, String> modelNames;
    private final String user;

    /** Unpacked once for the whole suite rather than once per data directory (2 s each, dozens of them). */
    static final String SHARED_POSTGRES_BINARIES = Path.of("target", "postgres-binaries").toAbsolutePath().toString();

    private TestServer(Path dataDir, Map<String, String> extra) {
        this.dataDir = dataDir;
        this.env = new HashMap<>();
        env.put("SERVEML_ADMIN_PASSWORD", ADMIN_PASSWORD);
        env.put("SERVEML_BCRYPT_COST", "4");
        // Every test client signs in from 127.0.0.1, as many users behind one address would; the
        // tests of the per-address sign-in limit set a small one.
        env.put("SERVEML_AUTH_RATE_LIMIT", "100000");
        env.put("SERVEML_DATABASE_EMBEDDED_BINARIES", SHARED_POSTGRES_BINARIES);
        env.putAll(extra);
        env.put("SERVEML_DATA_DIR", dataDir.toString());
        env.put("SERVEML_HTTP_PORT", "0");
        env.put("SERVEML_HTTP_HOST", "127.0.0.1");
        this.server = ServemlServer.start(ConfigLoader.load(env));
        this.adminKey = "off".equals(env.get("SERVEML_AUTH")) ? null : createKey(login("admin", ADMIN_PASSWORD),
                "tests", "[\"admin\", \"predict\", \"models:read\", \"models:write\", \"deployments:write\"]");
        this.bearer = adminKey;
        this.shared = false;
        this.modelNames = new ConcurrentHashMap<>();
        this.user = null;
    }

    /** Another handle on {@code running}'s server for {@code user}, with a client and a credential of its own. */
    private TestServer(TestServer running, String user) {
        this.dataDir = running.dataDir;
        this.env = running.env;
        this.server = running.server;
        this.adminKey = running.adminKey;
        this.bearer = adminKey;
        this.shared = true;
        this.modelNames = running.modelNames;
        this.user = user;
    }

    /** A handle on this (shared) server for the test class {@code user}; see {@link SharedServer}. */
    TestServer handle(String user) {
        return new TestServer(this, user);
    }

    /** Signs in and returns the access token. */
    String login(String username, String password) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/api/v1/auth/login"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"username\": \"" + username + "\", \"password\": \""
                        + password + "\"}")).build());
        if (r.statusCode() != 200) {
            throw new AssertionError("login failed: " + r.body());
        }
        return json(r).get("access_token").asText();
    }

    /** Creates an API key with the given token and scopes (a JSON array) and returns its secret. */
    String createKey(String token, String name, String scopesJson) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/api/v1/api-keys"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"" + name + "\", \"scopes\": " + scopesJson
                        + "}")).build());
        if (r.statusCode() != 201) {
            throw new AssertionError("key creation failed: " + r.body());
        }
        return json(r).get("key").asText();
    }

    /** Registers a user and returns an access token for them. */
    String newUser(String username) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/api/v1/auth/register"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"username\": \"" + username
                        + "\", \"password\": \"password-of-" + username + "\"}")).build());
        if (r.statusCode() != 201) {
            throw new AssertionError("registration failed: " + r.body());
        }
        return login(username, "password-of-" + username);
    }

    String adminKey() {
        return adminKey;
    }

    /** Makes the helpers send this credential (null: none) until changed. */
    void useCredential(String credential) {
        this.bearer = credential;
    }

    static TestServer start(Path dataDir) {
        return new TestServer(dataDir, Map.of());
    }

    static TestServer start(Path dataDir, Map<String, String> env) {
        return new TestServer(dataDir, env);
    }

    /** Stops and starts again on the same data directory. */
    void restart() {
        if (shared) {
            throw new IllegalStateException("the shared server is not restarted: a test that restarts starts its own");
        }
        server.close();
        server = ServemlServer.start(ConfigLoader.load(env));
    }

    ServemlServer server() {
        return server;
    }

    Path dataDir() {
        return dataDir;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    HttpResponse<String> delete(String path) {
        return send(HttpRequest.newBuilder(uri(path)).DELETE().build());
    }

    HttpResponse<String> postJson(String path, String json) {
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    HttpResponse<String> patchJson(String path, String json) {
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(json)).build());
    }

    HttpResponse<String> post(String path, String contentType, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b.build());
    }

    /** Uploads {@code bytes} as the multipart part {@code file} named {@code fileName}. */
    HttpResponse<String> upload(String model, String fileName, byte[] bytes) {
        String first = shared ? modelNames.putIfAbsent(model, user) : null;
        if (first != null && !first.equals(user)) {
            // Names are global: the upload would add a version to the other class's model.
            throw new AssertionError(user + " uploads model '" + model + "', which " + first
                    + " uses on the shared server too: give it a name of its own");
        }
        String boundary = "serveml-" + UUID.randomUUID();
        byte[] body = multipart(boundary, "file", fileName, bytes);
        return post("/api/v1/models/" + model + "/versions", "multipart/form-data; boundary=" + boundary, body);
    }

    static byte[] multipart(String boundary, String part, String fileName, byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + part + "\"; filename=\""
                + fileName + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(bytes);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    private HttpRequest authorized(HttpRequest request) {
        if (bearer == null || request.headers().firstValue("Authorization").isPresent()
                || request.headers().firstValue("X-API-Key").isPresent()) {
            return request;
        }
        return HttpRequest.newBuilder(request, (name, value) -> true).header("Authorization", "Bearer " + bearer).build();
    }

    /** Sends exactly this request, adding no credential. */
    HttpResponse<String> sendRaw(HttpRequest request) {
        return exchange(request, HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> send(HttpRequest request) {
        return exchange(authorized(request), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<byte[]> sendBytes(HttpRequest request) {
        return exchange(authorized(request), HttpResponse.BodyHandlers.ofByteArray());
    }

    private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> body) {
        try {
            return client.send(request, body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + response.body(), e);
        }
    }

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    /** Polls the deployment until its status is {@code status} (30 s at most) and returns it. */
    JsonNode awaitDeployment(String name, String status) {
        return Poll.until(() -> json(get("/api/v1/deployments/" + name)),
                d -> d.path("status").asText().equals(status), Duration.ofSeconds(30), name + " to be " + status);
    }

    /**
     * Reads a deployment's whole event stream as the admin (the stream ends when the deployment
     * settles) into its data objects.
     */
    List<JsonNode> deploymentEvents(String name) {
        HttpResponse<Stream<String>> r = exchange(HttpRequest.newBuilder(uri("/api/v1/deployments/" + name + "/events"))
                .header("Authorization", "Bearer " + adminKey).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofLines());
        if (r.statusCode() != 200 || !r.headers().firstValue("Content-Type").orElse("").equals("text/event-stream")) {
            r.body().close();
            throw new AssertionError("no event stream for " + name + ": " + r.statusCode() + " " + r.headers().map());
        }
        List<JsonNode> out = new ArrayList<>();
        try (Stream<String> lines = r.body()) {
            lines.filter(l -> l.startsWith("data: ")).forEach(l -> out.add(json(l.substring(6))));
        }
        return out;
    }

    /** File names of every artifact stored under the data directory. */
    List<String> artifactNames() {
        Path root = dataDir.resolve("artifacts");
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The artifact store's keys: each file's path under the artifacts directory, with {@code /}. */
    List<String> artifactKeys() {
        Path root = dataDir.resolve("artifacts");
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/')).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Temporary upload files still in the data directory. */
    List<Path> leftoverUploads() {
        Path dir = dataDir.resolve("tmp/uploads");
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A generated fixture from src/test/resources/fixtures (see make_fixtures.py there). */
    static byte[] fixture(String name) {
        try (InputStream in = TestServer.class.getResourceAsStream("/fixtures/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing fixture " + name + "; run make_fixtures.py");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops a server of the test's own; a handle on the shared server leaves it running for the next class. */
    @Override
    public void close() {
        if (!shared) {
            server.close();
        }
    }
}
