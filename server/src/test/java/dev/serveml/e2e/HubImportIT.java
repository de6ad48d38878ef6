package dev.serveml.e2e;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.hub.FakeHub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: a version registered from a (fake) Hugging Face Hub by repository id over real HTTP:
 * its progress streamed in phase order, the pinned commit, a cut transfer resumed, failures that
 * leave nothing behind, and the token policy: a tenant never borrows the server's token, nor reads
 * from the cache what an administrator fetched with it, and no token is ever shown or stored.
 */
class HubImportIT {
    private static final List<String> PHASES = List.of("validating", "downloading", "loading", "pipeline", "ready");
    private static final String C1 = "1111111111111111111111111111111111111111";
    private static final String C2 = "2222222222222222222222222222222222222222";

    @TempDir
    static Path dataDir;
    static FakeHub hub;
    static TestServer server;
    static String tenant;
    static String other;
    static final ListAppender<ILoggingEvent> logs = new ListAppender<>();

    @BeforeAll
    static void start() throws IOException {
        hub = new FakeHub();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
        logs.start();
        server = TestServer.start(dataDir, Map.of("SERVEML_HF_ENDPOINT", hub.endpoint().toString(),
                "SERVEML_HF_CACHE", dataDir.resolve("hf").toString(), "SERVEML_HF_TOKEN", FakeHub.TOKEN,
                "SERVEML_HF_TIMEOUT", "5s",
                // two HTTP workers: an import that held one while the Hub is slow would soon hold them all
                "SERVEML_WORKER_THREADS", "2"));
        tenant = server.newUser("hubtenant");
        other = server.newUser("hubother");
    }

    @AfterAll
    static void stop() {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
        server.close();
        hub.close();
    }

    private static HttpResponse<String> importAs(String credential, String model, String body, String hfToken) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri("/api/v1/models/" + model + "/versions"))
                .header("Authorization", "Bearer " + credential).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (hfToken != null) {
            b.header("X-HF-Token", hfToken);
        }
        return server.sendRaw(b.build());
    }

    private static HttpResponse<String> getAs(String credential, String path) {
        return server.sendRaw(HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + credential)
                .GET().build());
    }

    /** The import's whole event stream (it ends when the import does), each event as id, name and data. */
    private static List<Event> events(String credential, String path, String lastEventId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + credential)
                .timeout(Duration.ofSeconds(45)).GET();
        if (lastEventId != null) {
            b.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<String> r = server.sendRaw(b.build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/event-stream");
        List<Event> out = new ArrayList<>();
        for (String block : r.body().split("\n\n")) {
            String id = null;
            String name = null;
            JsonNode data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    name = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = json(line.substring(6));
                }
            }
            if (data != null) {
                out.add(new Event(Long.parseLong(id), name, data));
            }
        }
        return out;
    }

    record Event(long id, String name, JsonNode data) {
    }

    /** Starts an import and reads its stream to the end. */
    private static List<Event> imported(String credential, String model, String body, String hfToken) {
        HttpResponse<String> r = importAs(credential, model, body, hfToken);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode view = json(r);
        assertThat(r.headers().firstValue("Location")).hasValue("/api/v1/models/" + model + "/imports/"
                + view.get("id").asText());
        return events(credential, view.get("events_url").asText(), null);
    }

    private static List<String> leftovers(String suffix) throws IOException {
        Path cache = dataDir.resolve("hf");
        if (!Files.exists(cache)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(cache)) {
            return walk.map(Path::toString).filter(p -> p.endsWith(suffix)).toList();
        }
    }

    @Test
    void anImportByRepoIdStreamsItsPhasesInOrderUpTo100PercentAndTheVersionAnswersInHuggingFacesShape()
            throws IOException {
        hub.fixture("acme/sst2", C1, "bert-tiny-sst2");

        List<Event> events = imported(tenant, "hub-sst2", "{\"source\": \"hf://acme/sst2\"}", null);

        List<Integer> phases = events.stream().map(e -> PHASES.indexOf(e.name())).toList();
        assertThat(phases).as(events.toString()).doesNotContain(-1).isSorted().contains(1, 2, 3, 4);
        List<Integer> percents = events.stream().map(e -> e.data().get("percent").asInt()).toList();
        assertThat(percents).isSorted().contains(100);
        assertThat(events).extracting(Event::id).isSorted().doesNotHaveDuplicates();
        JsonNode last = events.getLast().data();
        assertThat(last.get("phase").asText()).isEqualTo("ready");
        assertThat(last.get("commit").asText()).isEqualTo(C1);
        assertThat(last.get("bytes_done").asLong()).isEqualTo(last.get("bytes_total").asLong()).isPositive();
        assertThat(last.get("problem").isNull()).isTrue();
        int version = last.get("version").asInt();
        assertThat(version).isEqualTo(1);

        server.useCredential(tenant);
        JsonNode v = json(server.get("/api/v1/models/hub-sst2/versions/1"));
        assertThat(v.at("/metadata/source").asText()).isEqualTo("hf://acme/sst2");
        assertThat(v.at("/metadata/commit").asText()).isEqualTo(C1);
        assertThat(v.at("/metadata/revision").asText()).isEqualTo("main");
        assertThat(v.at("/metadata/variant").asText()).isEqualTo("fp32");
        assertThat(v.at("/metadata/import_id").asText()).isEqualTo(last.get("id").asText());
        assertThat(v.at("/metadata/task").asText()).isEqualTo("text-classification");

        HttpResponse<String> p = server.postJson("/api/v1/models/hub-sst2/predict",
                "{\"inputs\": \"I loved it\", \"parameters\": {\"top_k\": 2}}");
        assertThat(p.statusCode()).as(p.body()).isEqualTo(200);
        JsonNode answer = json(p);
        assertThat(answer.size()).isEqualTo(2);
        assertThat(answer.at("/0/label").asText()).isIn("POSITIVE", "NEGATIVE");
        assertThat(answer.at("/0/score").asDouble() + answer.at("/1/score").asDouble()).isCloseTo(1.0,
                org.assertj.core.api.Assertions.within(1e-4));

        JsonNode list = json(server.get("/api/v1/models/hub-sst2/imports"));
        assertThat(list.at("/items/0/id").asText()).isEqualTo(last.get("id").asText());
        assertThat(leftovers(".incomplete")).isEmpty();
        assertThat(server.leftoverUploads()).isEmpty();
        server.useCredential(server.adminKey());
    }

    @Test
    void aTenantsImportsBeyondTheirAllowanceAreRefused429WhileOtherTenantsStillImport() {
        hub.fixture("acme/slow", C1, "bert-tiny-sst2");
        String greedy = server.newUser("hubgreedy");
        String body = "{\"source\": \"hf://acme/slow\"}";
        hub.held = new CountDownLatch(1);
        hub.holding = new CountDownLatch(1);
        hub.heldPath = "onnx/model.onnx";
        List<HttpResponse<String>> started = new ArrayList<>();
        try {
            // SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER is 2: two imports held in their download
            started.add(importAs(greedy, "hub-greedy-1", body, null));
            started.add(importAs(greedy, "hub-greedy-2", body, null));
            assertThat(started).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(202));

            HttpResponse<String> third = importAs(greedy, "hub-greedy-3", body, null);
            assertProblem(third, 429, "too-many-uploads", "import");
            assertThat(third.headers().firstValue("Retry-After")).isPresent();
            HttpResponse<String> others = importAs(other, "hub-not-greedy", body, null);
            assertThat(others.statusCode()).as("another tenant is not held back: " + others.body()).isEqualTo(202);
            started.add(others);
        } finally {
            hub.heldPath = null;
            hub.held.countDown();
        }
        for (HttpResponse<String> r : started) {
            String owner = r == started.getLast() ? other : greedy;
            List<Event> events = events(owner, json(r).get("events_url").asText(), null);
            assertThat(events.getLast().name()).as(events.toString()).isEqualTo("ready");
        }
        assertThat(getAs(greedy, "/api/v1/models/hub-greedy-3").statusCode()).as("the refused one left nothing")
                .isEqualTo(404);
        assertThat(imported(greedy, "hub-greedy-3", body, null).getLast().name())
                .as("the allowance is given back when an import ends").isEqualTo("ready");
    }

    @Test
    void importsWaitingOnASlowHubHoldNoHttpWorkerSoReadsAndSignInsGoOn() throws Exception {
        hub.fixture("acme/slowhub", C1, "bert-tiny-sst2");
        List<String> users = List.of(server.newUser("hubslow1"), server.newUser("hubslow2"));
        String body = "{\"source\": \"hf://acme/slowhub\"}";
        hub.apiHeld = new CountDownLatch(1);
        ExecutorService clients = Executors.newFixedThreadPool(4);
        List<Future<HttpResponse<String>>> pending = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                String user = users.get(i % 2);
                String model = "hub-slowhub-" + i;
                pending.add(clients.submit(() -> importAs(user, model, body, null)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (hub.apiWaiting.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(hub.apiWaiting.get()).as("imports are waiting on the Hub").isGreaterThanOrEqualTo(2);

            // Both HTTP workers are free while the Hub keeps the imports waiting.
            HttpResponse<String> read = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models"))
                    .header("Authorization", "Bearer " + tenant).timeout(Duration.ofSeconds(5)).GET().build());
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
            assertThat(server.login("hubslow1", "password-of-hubslow1")).isNotBlank();
        } finally {
            hub.apiHeld.countDown();
            hub.apiHeld = null;
            clients.shutdown();
        }
        for (int i = 0; i < pending.size(); i++) {
            HttpResponse<String> r = pending.get(i).get(30, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            // each runs to its end here, so that no other test sees its downloads in flight
            assertThat(events(users.get(i % 2), json(r).get("events_url").asText(), null).getLast().name())
                    .isEqualTo("ready");
        }
    }

    @Test
    void theVersionPinsItsCommitAndANewImportAfterTheBranchMovedGetsTheNewOne() {
        FakeHub.Repo repo = hub.fixture("acme/moving", C1, "bert-tiny-sst2");
        assertThat(imported(tenant, "hub-moving", "{\"source\": \"hf://acme/moving\"}", null).getLast()
                .data().get("version").asInt()).isEqualTo(1);

        repo.refs.put("main", C2);
        JsonNode second = imported(tenant, "hub-moving", "{\"source\": \"hf://acme/moving\", \"revision\": \"main\"}",
                null).getLast().data();

        assertThat(second.get("commit").asText()).isEqualTo(C2);
        assertThat(second.get("version").asInt()).isEqualTo(2);
        assertThat(json(getAs(tenant, "/api/v1/models/hub-moving/versions/1")).at("/metadata/commit").asText())
                .isEqualTo(C1);
        assertThat(json(getAs(tenant, "/api/v1/models/hub-moving/versions/2")).at("/metadata/commit").asText())
                .isEqualTo(C2);
    }

    @Test
    void aTransferCutInTheMiddleIsResumedAndTheImportSucceeds() {
        hub.fixture("acme/cut", C1, "bert-tiny-sst2");
        hub.cutAfter.put("onnx/model.onnx", 50_000L);
        hub.cutTimes.set(1);
        try {
            JsonNode last = imported(tenant, "hub-cut", "{\"source\": \"hf://acme/cut\"}", null).getLast().data();
            assertThat(last.get("phase").asText()).as(last.toString()).isEqualTo("ready");
        } finally {
            hub.cutAfter.remove("onnx/model.onnx");
        }
        assertThat(hub.seen).anySatisfy(s -> {
            assertThat(s.host()).isEqualTo("cdn");
            assertThat(s.range()).hasValue("bytes=50000-");
        });
    }

    @Test
    void aTransferThatKeepsFailingEndsFailedWithNothingLeftBehind() throws IOException {
        hub.fixture("acme/broken", C1, "bert-tiny-sst2");
        hub.cutAfter.put("onnx/model.onnx", 1000L);
        hub.cutTimes.set(1000);
        List<Event> events;
        try {
            events = imported(tenant, "hub-broken", "{\"source\": \"hf://acme/broken\"}", null);
        } finally {
            hub.cutAfter.remove("onnx/model.onnx");
            hub.cutTimes.set(0);
        }
        JsonNode last = events.getLast().data();
        assertThat(events.getLast().name()).isEqualTo("failed");
        assertThat(last.at("/problem/code").asText()).isEqualTo("hub-unavailable");
        assertThat(last.at("/problem/detail").asText()).contains("onnx/model.onnx").doesNotContain(dataDir.toString());
        assertThat(last.get("version").isNull()).isTrue();
        assertProblem(getAs(tenant, "/api/v1/models/hub-broken/versions"), 404, "model-not-found", "hub-broken");
        assertThat(leftovers(".incomplete")).isEmpty();
        assertThat(server.leftoverUploads()).isEmpty();
    }

    @Test
    void anUnknownRepoAndAGatedOrPrivateOneWithoutATokenAreRefusedAtOnce() {
        FakeHub.Repo gated = hub.fixture("acme/gated", C1, "bert-tiny-sst2");
        gated.gated = true;
        hub.fixture("acme/private", C1, "bert-tiny-sst2").isPrivate = true;

        assertProblem(importAs(tenant, "hub-none", "{\"source\": \"hf://acme/nothing-here\"}", null), 422,
                "hub-repo-not-found", "acme/nothing-here");
        assertProblem(importAs(tenant, "hub-none", "{\"source\": \"hf://acme/sst2\", \"revision\": \"v9\"}", null),
                422, "hub-repo-not-found", "'v9'");
        assertProblem(importAs(tenant, "hub-none", "{\"source\": \"hf://acme/gated\"}", null), 422,
                "hub-auth-required", "token");
        // The Hub answers a private repository without a token as a missing one (it hides that it exists).
        assertProblem(importAs(tenant, "hub-none", "{\"source\": \"hf://acme/private\"}", null), 422,
                "hub-repo-not-found", "token");
        assertProblem(importAs(tenant, "hub-none", "{\"source\": \"hf://acme/private\"}", "hf_wrong_token"), 422,
                "hub-auth-required", "refused the token");
        assertThat(json(getAs(tenant, "/api/v1/models/hub-none/imports")).get("items")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"source\": \"hf://acme/sst2\", \"url\": \"x\"}          | /url      | unknown field",
            "{\"source\": \"s3://bucket/model\"}                       | /source   | hf://org/name",
            "{\"revision\": \"main\"}                                   | /source   | required",
            "{\"source\": \"hf://acme/../etc\"}                        | /source   | Hugging Face repository id",
            "{\"source\": \"hf://acme/sst2\", \"revision\": \"../x\"}  | /revision | not a revision",
            "{\"source\": \"hf://acme/sst2\", \"variant\": \"fp8\"}    | /variant  | fp32",
            "{\"source\": \"hf://acme/sst2\", \"task\": \"translation\"} | /task   | token-classification",
            "{\"source\": 7}                                            | /source   | a string",
    })
    void aBadImportBodyIsA422NamingTheField(String body, String pointer, String says) {
        HttpResponse<String> r = importAs(tenant, "hub-bad", body, null);
        JsonNode problem = assertProblem(r, 422, "invalid-import", says);
        assertThat(problem.at("/errors/0/pointer").asText()).isEqualTo(pointer);
    }

    @Test
    void theNameRulesAreAnUploadsOwn() {
        assertProblem(importAs(tenant, "-bad", "{\"source\": \"hf://acme/sst2\"}", null), 422, "invalid-name", "64");
        server.useCredential(other);
        hub.fixture("acme/owned", C1, "bert-tiny-sst2");
        assertThat(imported(other, "hub-owned", "{\"source\": \"hf://acme/owned\"}", null).getLast().data()
                .get("phase").asText()).isEqualTo("ready");
        server.useCredential(server.adminKey());
        assertProblem(importAs(tenant, "hub-owned", "{\"source\": \"hf://acme/owned\"}", null), 409, "name-taken",
                "hub-owned");
        assertThat(server.delete("/api/v1/models/hub-owned").statusCode()).isEqualTo(200);
        assertProblem(importAs(other, "hub-owned", "{\"source\": \"hf://acme/owned\"}", null), 409, "model-deleted",
                "restore");
    }

    @Test
    void aTenantNeverUsesTheServersTokenAndItsOwnIsNeverShownLoggedOrAudited() {
        hub.fixture("acme/secret", C1, "bert-tiny-sst2").isPrivate = true;
        assertProblem(importAs(tenant, "hub-secret-t", "{\"source\": \"hf://acme/secret\"}", null), 422,
                "hub-repo-not-found", "token");
        assertThat(hub.seen).filteredOn(s -> s.path().contains("acme/secret"))
                .allSatisfy(s -> assertThat(s.authorization()).isEmpty());

        String body = "{\"source\": \"hf://acme/secret\"}";
        HttpResponse<String> started = importAs(tenant, "hub-secret-t", body, FakeHub.TOKEN);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        List<Event> events = events(tenant, json(started).get("events_url").asText(), null);
        assertThat(events.getLast().name()).isEqualTo("ready");

        List<String> shown = new ArrayList<>(List.of(started.body(), events.toString(),
                getAs(tenant, "/api/v1/models/hub-secret-t/imports").body(),
                getAs(tenant, "/api/v1/models/hub-secret-t/versions/1").body(),
                getAs(server.adminKey(), "/api/v1/audit?limit=500").body(),
                getAs(tenant, "/api/v1/audit?limit=500").body()));
        logs.list.forEach(e -> shown.add(e.getFormattedMessage() + e.getThrowableProxy()));
        assertThat(shown).noneMatch(text -> text.contains(FakeHub.TOKEN));
        assertThat(getAs(tenant, "/api/v1/audit?action=model.import_started").body()).contains("hf://acme/secret");
    }

    @Test
    void whenTheHubIsDownATenantReadsFromTheCacheOnlyWhatTheHubCalledPublic() {
        hub.fixture("acme/admins-private", C1, "bert-tiny-sst2").isPrivate = true;
        hub.fixture("acme/public-cached", C1, "bert-tiny-sst2");
        assertThat(imported(server.adminKey(), "hub-admin-private", "{\"source\": \"hf://acme/admins-private\"}", null)
                .getLast().name()).as("the server's token serves an administrator").isEqualTo("ready");
        assertThat(imported(tenant, "hub-public-1", "{\"source\": \"hf://acme/public-cached\"}", null)
                .getLast().name()).isEqualTo("ready");
        assertProblem(importAs(tenant, "hub-stolen", "{\"source\": \"hf://acme/admins-private\"}", null), 422,
                "hub-repo-not-found", "token");

        hub.down = true;
        try {
            HttpResponse<String> stolen = importAs(tenant, "hub-stolen", "{\"source\": \"hf://acme/admins-private\"}",
                    null);
            HttpResponse<String> neverFetched = importAs(tenant, "hub-stolen", "{\"source\": \"hf://acme/never\"}",
                    null);
            assertProblem(stolen, 503, "hub-unavailable", "acme/admins-private");
            assertThat(json(stolen).get("detail").asText()).as("the same answer as for a repository never fetched")
                    .isEqualTo(json(neverFetched).get("detail").asText().replace("acme/never", "acme/admins-private"));
            assertThat(imported(tenant, "hub-public-2", "{\"source\": \"hf://acme/public-cached\"}", null)
                    .getLast().name()).isEqualTo("ready");
            assertThat(imported(server.adminKey(), "hub-admin-private", "{\"source\": \"hf://acme/admins-private\"}",
                    null).getLast().name()).as("an administrator reads anything cached").isEqualTo("ready");
            assertThat(json(getAs(tenant, "/api/v1/hub/preview?repo=acme/public-cached")).get("cached").asBoolean())
                    .isTrue();
        } finally {
            hub.down = false;
        }
    }

    @Test
    void anotherTenantCannotSeeListOrStreamSomeonesImport() {
        hub.fixture("acme/mine", C1, "bert-tiny-sst2");
        HttpResponse<String> started = importAs(tenant, "hub-mine", "{\"source\": \"hf://acme/mine\"}", null);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode view = json(started);
        String path = "/api/v1/models/hub-mine/imports/" + view.get("id").asText();

        assertProblem(getAs(other, path), 404, "not-found", "no import");
        assertProblem(getAs(other, path + "/events"), 404, "not-found", "no import");
        assertProblem(getAs(tenant, "/api/v1/models/hub-other/imports/" + view.get("id").asText()), 404,
                "not-found", "no import");
        assertThat(json(getAs(server.adminKey(), path)).get("id")).isEqualTo(view.get("id"));
        assertThat(events(tenant, path + "/events", null).getLast().name()).isEqualTo("ready");
        // once the model exists, its imports are listed as any of its routes: unknown to others
        assertProblem(getAs(other, "/api/v1/models/hub-mine/imports"), 404, "model-not-found", "hub-mine");
        assertThat(json(getAs(tenant, "/api/v1/models/hub-mine/imports")).get("items")).hasSize(1);
    }

    @Test
    void aStreamReconnectedWithLastEventIdMissesNothingAndRepeatsNothing() {
        hub.fixture("acme/again", C1, "bert-tiny-sst2");
        HttpResponse<String> started = importAs(tenant, "hub-again", "{\"source\": \"hf://acme/again\"}", null);
        String events = json(started).get("events_url").asText();
        List<Event> all = events(tenant, events, null);
        assertThat(all.size()).isGreaterThanOrEqualTo(4);

        List<Event> rest = events(tenant, events, Long.toString(all.get(1).id()));

        assertThat(rest).extracting(Event::id).containsExactlyElementsOf(all.subList(2, all.size()).stream()
                .map(Event::id).toList());
    }

    @Test
    void thePreviewListsTheFilesAndSizesBeforeAnythingDownloads() {
        FakeHub.Repo repo = hub.fixture("acme/preview", C1, "bert-tiny-sst2");
        long before = hub.requestsTo("/resolve/");

        HttpResponse<String> r = getAs(tenant, "/api/v1/hub/preview?repo=acme/preview&revision=main");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode p = json(r);
        assertThat(p.get("commit").asText()).isEqualTo(C1);
        assertThat(p.get("private").asBoolean()).isFalse();
        assertThat(p.get("pipeline_tag").asText()).isEqualTo("text-classification");
        assertThat(p.get("task").asText()).isEqualTo("text-classification");
        assertThat(p.get("variants")).isEqualTo(json("[\"fp32\"]"));
        assertThat(p.get("cached").asBoolean()).isFalse();
        assertThat(p.get("files").size()).isEqualTo(repo.files.size());
        long needed = 0;
        for (JsonNode f : p.get("files")) {
            assertThat(f.get("size").asLong()).isEqualTo(repo.files.get(f.get("path").asText()).length);
            assertThat(f.get("needed").asBoolean()).isTrue();
            needed += f.get("size").asLong();
        }
        assertThat(p.get("needed_bytes").asLong()).isEqualTo(needed);
        assertThat(hub.requestsTo("/resolve/")).isEqualTo(before);
        assertProblem(getAs(tenant, "/api/v1/hub/preview?repo=acme/../x"), 422, "invalid-import", "repository id");
        assertProblem(getAs(tenant, "/api/v1/hub/preview?repo=acme/absent"), 422, "hub-repo-not-found", "acme/absent");
    }

    @Test
    void anImportInFlightWhenTheServerStopsIsMarkedFailedAtTheNextStart() throws Exception {
        hub.fixture("acme/held", C1, "bert-tiny-sst2");
        hub.held = new CountDownLatch(1);
        hub.holding = new CountDownLatch(1);
        hub.heldPath = "onnx/model.onnx";
        HttpResponse<String> started = importAs(tenant, "hub-held", "{\"source\": \"hf://acme/held\"}", null);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String path = "/api/v1/models/hub-held/imports/" + json(started).get("id").asText();
        assertThat(hub.holding.await(30, TimeUnit.SECONDS)).isTrue();

        server.restart();
        hub.heldPath = null;
        hub.held.countDown();
        tenant = server.login("hubtenant", "password-of-hubtenant");
        other = server.login("hubother", "password-of-hubother");

        JsonNode after = json(getAs(tenant, path));
        assertThat(after.get("phase").asText()).isEqualTo("failed");
        assertThat(after.at("/problem/detail").asText()).isEqualTo("the server stopped during the import; start it again");
        assertThat(events(tenant, path + "/events", null).getLast().name()).isEqualTo("failed");
        assertProblem(getAs(tenant, "/api/v1/models/hub-held/versions"), 404, "model-not-found", "hub-held");
        assertThat(server.leftoverUploads()).isEmpty();
    }
}
