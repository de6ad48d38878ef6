package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Stream;

import static dev.serveml.e2e.TestServer.json;

/**
 * One ServeML for every IT class of the JVM whose state allows it: started with the default
 * configuration when the first such class begins (a start costs seconds: PostgreSQL unpacked and
 * its cluster created), stopped when the JVM's last test has run. A class registers it and takes
 * its own handle (own HTTP client, own credential, the admin's key at first):
 *
 * <pre>{@code
 * @RegisterExtension
 * static final SharedServer shared = new SharedServer();
 * static TestServer server;
 *
 * @BeforeAll
 * static void start() {
 *     server = shared.server();
 * }
 * }</pre>
 *
 * <p>What a class on it must hold to: model, deployment and user names are global, so it uses
 * names no other class uses (an upload of a name another class uploaded fails at once); it does
 * not change the configuration, restart or stop the server or its database ({@link
 * TestServer#restart} refuses); and it asserts nothing about global figures (metrics summed over
 * all models, "all models" or "all users" lists, audit counts) that other classes move. A class
 * that needs any of that starts its own with {@link TestServer#start}. After each class its
 * deployments are deleted and its models unloaded, so the next class does not share its workers'
 * memory and CPU; its rows stay. Classes run one after another (JUnit's default here): a class
 * running beside another would see the tidy-up.
 */
final class SharedServer implements BeforeAllCallback, AfterAllCallback {
    private TestServer handle;

    /** This class's handle; valid from the class's {@code @BeforeAll} methods on. */
    TestServer server() {
        if (handle == null) {
            throw new IllegalStateException("register SharedServer with @RegisterExtension on a static field");
        }
        return handle;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Running running = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent(Running.class, k -> Running.start(), Running.class);
        handle = running.server.handle(context.getRequiredTestClass().getSimpleName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (handle != null) {
            tidy(handle);
            handle = null;
        }
    }

    /** Deletes every deployment and unloads every model: what the class left running. */
    private static void tidy(TestServer server) {
        server.useCredential(server.adminKey());
        for (JsonNode d : json(server.get("/api/v1/deployments")).path("items")) {
            server.delete("/api/v1/deployments/" + d.get("name").asText());
        }
        Set<String> loaded = new LinkedHashSet<>();
        for (JsonNode e : json(server.postJson("/v2/repository/index", "{\"ready\": true}"))) {
            loaded.add(e.get("name").asText());
        }
        for (String name : loaded) {
            server.postJson("/v2/repository/models/" + name + "/unload", "{}");
        }
    }

    /** The server itself, kept in JUnit's root store so that JUnit closes it after the last test. */
    private record Running(TestServer server) implements AutoCloseable {
        static Running start() {
            try {
                return new Running(TestServer.start(Files.createTempDirectory("serveml-shared-")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            // Best effort, as @TempDir would: what cannot be deleted stays in the temporary directory.
            try (Stream<Path> walk = Files.walk(server.dataDir())) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
