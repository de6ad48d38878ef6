package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two tenants race for one new model name with uploads whose validation load is slow, so both
 * pass the first owner check before either is stored (as tenant B's pickle once became version
 * 2 of tenant A's model). Exactly one owns the name; the other gets 409 and nothing of theirs is
 * kept: no version, no artifact, no temporary file.
 */
class UploadRaceIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static String alice;
    static String bob;
    /** One thread per client: the common pool has a single thread on two cores. */
    static final ExecutorService clients = Executors.newFixedThreadPool(2);

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy");
        server = shared.server();
        alice = server.newUser("race-alice");
        bob = server.newUser("race-bob");
    }

    @AfterAll
    static void stop() {
        clients.shutdownNow();
    }

    @Test
    void ofTwoTenantsRacingForANewNameOneOwnsItAndTheOtherGets409WithNothingKept() throws Exception {
        for (int round = 0; round < 3; round++) {
            String name = "contested-" + round;
            byte[] aliceFile = Fixtures.slowHandler("alice " + round, 1.5);
            byte[] bobFile = Fixtures.slowHandler("bob " + round, 1.5);

            CompletableFuture<HttpResponse<String>> a = CompletableFuture.supplyAsync(
                    () -> upload(alice, name, aliceFile), clients);
            CompletableFuture<HttpResponse<String>> b = CompletableFuture.supplyAsync(
                    () -> upload(bob, name, bobFile), clients);
            HttpResponse<String> ra = a.get();
            HttpResponse<String> rb = b.get();

            assertThat(List.of(ra.statusCode(), rb.statusCode())).as(ra.body() + "\n" + rb.body())
                    .containsExactlyInAnyOrder(201, 409);
            boolean aliceWon = ra.statusCode() == 201;
            String winner = aliceWon ? alice : bob;
            String loser = aliceWon ? bob : alice;
            byte[] winnerFile = aliceWon ? aliceFile : bobFile;
            byte[] loserFile = aliceWon ? bobFile : aliceFile;
            assertProblem(aliceWon ? rb : ra, 409, "name-taken", "is not available");

            JsonNode versions = json(as(winner, "/api/v1/models/" + name + "/versions")).get("items");
            assertThat(versions).hasSize(1);
            assertThat(versions.get(0).get("sha256").asText()).isEqualTo(Fixtures.sha256(winnerFile));
            assertProblem(as(loser, "/api/v1/models/" + name), 404, "model-not-found", name);
            assertThat(server.artifactNames()).as("the loser's file is not stored")
                    .noneMatch(f -> f.startsWith(Fixtures.sha256(loserFile)));
            assertThat(server.leftoverUploads()).isEmpty();
        }
    }

    @Test
    void theLoserCanUploadUnderAnotherNameAndTheWinnerCanAddVersions() {
        HttpResponse<String> first = upload(alice, "taken-by-alice", Fixtures.slowHandler("alice's", 0.1));
        assertThat(first.statusCode()).as(first.body()).isEqualTo(201);

        assertProblem(upload(bob, "taken-by-alice", Fixtures.slowHandler("bob's", 0.1)), 409, "name-taken", "is not available");
        HttpResponse<String> elsewhere = upload(bob, "bobs-own", Fixtures.slowHandler("bob's", 0.1));
        HttpResponse<String> second = upload(alice, "taken-by-alice", Fixtures.slowHandler("alice's second", 0.1));

        assertThat(elsewhere.statusCode()).as(elsewhere.body()).isEqualTo(201);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(201);
        assertThat(json(second).get("version").asInt()).isEqualTo(2);
    }

    private static HttpResponse<String> upload(String token, String model, byte[] zip) {
        String boundary = "serveml-" + UUID.randomUUID();
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/models/" + model + "/versions"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(TestServer.multipart(boundary, "file", "model.zip", zip)))
                .build());
    }

    private static HttpResponse<String> as(String token, String path) {
        return server.send(HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + token)
                .GET().build());
    }
}
