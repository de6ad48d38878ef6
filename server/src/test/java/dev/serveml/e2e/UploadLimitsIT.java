package dev.serveml.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static dev.serveml.e2e.Problems.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Slow uploads cannot starve other tenants: a tenant's uploads beyond the per-user bound are
 * refused at once (429, Retry-After), and the validation loads of the admitted ones run on
 * their own threads, so another tenant's sign-in and reads answer while they load. (Eight slow
 * pickles once made another tenant's login take 43 s: they held every Vert.x worker thread.)
 */
class UploadLimitsIT {
    private static final double LOAD_SECONDS = 12;

    @TempDir
    static Path dataDir;
    static TestServer server;
    /** One thread per client: the common pool has a single thread on two cores. */
    static final ExecutorService clients = Executors.newFixedThreadPool(8);

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        // Two HTTP worker threads: before the fix, two slow loads were enough to stall every login.
        server = TestServer.start(dataDir, Map.of("SERVEML_WORKER_THREADS", "2",
                "SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER", "2", "SERVEML_UPLOAD_THREADS", "4",
                "SERVEML_PYTHON_START_TIMEOUT", "60s"));
    }

    @AfterAll
    static void stop() {
        clients.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aTenantsExtraUploadsGet429AndAnotherTenantSignsInWhileTheSlowOnesLoad() throws Exception {
        String greedy = server.newUser("greedy");
        String other = server.newUser("other-uploader");
        server.newUser("bystander");

        List<CompletableFuture<HttpResponse<String>>> greedyUploads = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String name = "greedy-" + i;
            byte[] zip = Fixtures.slowHandler("greedy " + i, LOAD_SECONDS);
            greedyUploads.add(CompletableFuture.supplyAsync(() -> upload(greedy, name, zip), clients));
        }
        List<CompletableFuture<HttpResponse<String>>> otherUploads = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String name = "other-" + i;
            byte[] zip = Fixtures.slowHandler("other " + i, LOAD_SECONDS);
            otherUploads.add(CompletableFuture.supplyAsync(() -> upload(other, name, zip), clients));
        }
        // The refusals come at once, while the admitted uploads load (12 s each).
        List<HttpResponse<String>> refused = Poll.until(() -> greedyUploads.stream().filter(CompletableFuture::isDone)
                .map(CompletableFuture::join).toList(), done -> done.size() >= 3, Duration.ofSeconds(10),
                "three uploads to be refused");
        assertThat(refused).as("three of the greedy tenant's five uploads are refused at once").hasSize(3);
        for (HttpResponse<String> r : refused) {
            assertThat(assertProblem(r, 429, "too-many-uploads", "SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER")
                    .get("retryable").asBoolean()).isTrue();
            assertThat(r.headers().firstValue("Retry-After")).isPresent();
        }
        // The four admitted uploads are staged (each keeps its temporary file until its 12 s load ends).
        Poll.until(() -> server.leftoverUploads().size() >= 4, Duration.ofSeconds(30), "the admitted uploads to load");

        long signingIn = System.nanoTime();
        String bystander = server.login("bystander", "password-of-bystander");
        HttpResponse<String> models = server.send(HttpRequest.newBuilder(server.uri("/api/v1/models"))
                .header("Authorization", "Bearer " + bystander).GET().build());
        long tookMillis = (System.nanoTime() - signingIn) / 1_000_000;
        System.out.println("another tenant signed in and listed models in " + tookMillis + " ms while 4 uploads loaded");

        assertThat(models.statusCode()).isEqualTo(200);
        // Stuck behind the loads, the sign-in would answer only when they end (12 s): it came first.
        assertThat(greedyUploads.stream().filter(f -> !f.isDone()).count())
                .as("the admitted uploads were still loading").isEqualTo(2);
        assertThat(otherUploads).as("the other tenant's too").noneMatch(CompletableFuture::isDone);
        List<Integer> greedyStatuses = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> f : greedyUploads) {
            HttpResponse<String> r = f.get();
            assertThat(r.statusCode()).as(r.body()).isIn(201, 429);
            greedyStatuses.add(r.statusCode());
        }
        assertThat(greedyStatuses).filteredOn(s -> s == 201).hasSize(2);
        for (CompletableFuture<HttpResponse<String>> f : otherUploads) {
            HttpResponse<String> r = f.get();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        }
        HttpResponse<String> later = upload(greedy, "greedy-later", Fixtures.slowHandler("later", 0.1));
        assertThat(later.statusCode()).as("slots are given back: " + later.body()).isEqualTo(201);
        assertThat(server.leftoverUploads()).isEmpty();
    }

    private static HttpResponse<String> upload(String token, String model, byte[] zip) {
        String boundary = "serveml-" + UUID.randomUUID();
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/models/" + model + "/versions"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "model.zip", zip)))
                .build());
    }
}
