package dev.serveml.hub;

import dev.serveml.config.HubConfig;
import dev.serveml.e2e.Poll;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The Hub client against a real (fake) Hub over real HTTP: listings, downloads, faults and attacks. */
class HubClientIT {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final String REPO = "acme/tiny-bert";
    private static final long PLENTY = 1L << 30;

    @TempDir
    Path cacheDir;
    private FakeHub hub;
    private HubClient client;
    private FakeHub.Repo repo;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        client = client(hub.endpoint(), Optional.empty(), false);
        repo = hub.repo(REPO, COMMIT)
                .file("README.md", "# tiny".getBytes(StandardCharsets.UTF_8), false)
                .file("config.json", "{\"architectures\":[\"BertForSequenceClassification\"]}".getBytes(StandardCharsets.UTF_8), false)
                .file("tokenizer.json", FakeHub.random(1, 3000), false)
                .file("tokenizer_config.json", "{}".getBytes(StandardCharsets.UTF_8), false)
                .file("special_tokens_map.json", "{}".getBytes(StandardCharsets.UTF_8), false)
                .file("onnx/model.onnx", FakeHub.random(2, 300_000), true)
                .file("onnx/model.onnx_data", FakeHub.random(3, 200_000), true)
                .file("onnx/model_fp16.onnx", FakeHub.random(4, 150_000), true)
                .file("onnx/model_quantized.onnx", FakeHub.random(5, 80_000), true)
                .file("pytorch_model.bin", FakeHub.random(6, 100_000), true);
    }

    @AfterEach
    void stop() {
        client.close();
        hub.close();
    }

    private HubClient client(URI endpoint, Optional<String> token, boolean offline) {
        return new HubClient(new HubConfig(endpoint, token, cacheDir, offline, Duration.ofSeconds(20)), Duration.ZERO);
    }

    private static HubRequest request(String repo, String revision, String variant, long maxBytes, Optional<String> token) {
        return new HubRequest(RepoId.parse(repo), revision, Optional.ofNullable(variant), maxBytes, token, true);
    }

    private Snapshot fetch(String variant) {
        return client.fetch(request(REPO, "main", variant, PLENTY, Optional.empty()), HubProgress.NONE);
    }

    private Path repoDir() {
        return cacheDir.resolve("models--acme--tiny-bert");
    }

    private List<String> blobNames() throws IOException {
        Path blobs = repoDir().resolve("blobs");
        if (!Files.isDirectory(blobs)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(blobs)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theListingIsReadAcrossPagesAndTheChosenFilesLandInTheStandardLayoutPinnedToTheCommit() throws IOException {
        List<HubProgress.Progress> events = new CopyOnWriteArrayList<>();

        Snapshot snapshot = client.fetch(request(REPO, "main", null, PLENTY, Optional.empty()), events::add);

        assertThat(hub.requestsTo("/tree/")).as("pages of 2 entries").isGreaterThan(3);
        assertThat(snapshot.commit()).isEqualTo(COMMIT);
        assertThat(snapshot.pipelineTag()).hasValue("text-classification");
        assertThat(snapshot.onnxPath()).isEqualTo("onnx/model.onnx");
        assertThat(snapshot.files().keySet()).containsExactlyInAnyOrder("config.json", "tokenizer.json",
                "tokenizer_config.json", "special_tokens_map.json", "onnx/model.onnx", "onnx/model.onnx_data");
        for (var e : snapshot.files().entrySet()) {
            assertThat(Files.readAllBytes(e.getValue())).as(e.getKey()).isEqualTo(repo.files.get(e.getKey()));
        }
        Path link = repoDir().resolve("snapshots").resolve(COMMIT).resolve("onnx/model.onnx");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.readSymbolicLink(link).toString())
                .isEqualTo("../../../blobs/" + FakeHub.sha256(repo.files.get("onnx/model.onnx")));
        assertThat(Files.readSymbolicLink(link.resolveSibling("../config.json")).toString())
                .isEqualTo("../../blobs/" + FakeHub.gitOid(repo.files.get("config.json")));
        assertThat(Files.readString(repoDir().resolve("refs/main"))).isEqualTo(COMMIT);
        assertThat(hub.seen).filteredOn(s -> s.path().contains("/resolve/"))
                .allSatisfy(s -> assertThat(s.path()).contains("/resolve/" + COMMIT + "/"))
                .noneSatisfy(s -> assertThat(s.path()).contains("fp16"))
                .noneSatisfy(s -> assertThat(s.path()).contains("pytorch_model"));
        assertThat(blobNames()).as("one blob per distinct content: two files hold {}")
                .noneMatch(n -> n.endsWith(".incomplete")).hasSize(5);
        HubProgress.Progress last = events.getLast();
        assertThat(last.doneBytes()).isEqualTo(last.totalBytes()).isEqualTo(snapshot.totalBytes());
        assertThat(last.percent()).isEqualTo(100);

        long before = hub.seen.size();
        Snapshot again = fetch(null);
        assertThat(again.files()).isEqualTo(snapshot.files());
        assertThat(hub.seen.subList((int) before, hub.seen.size()))
                .as("a second fetch reads only the revision and the listing").noneMatch(s -> s.path().contains("/resolve/")
                        || s.host().equals("cdn"));
    }

    @Test
    void theVariantPicksItsGraphAndAnUnknownOneIsRefusedNamingTheKnownOnes() {
        assertThat(fetch("fp16").onnxPath()).isEqualTo("onnx/model_fp16.onnx");
        assertThat(fetch("quantized").files()).containsKey("onnx/model_quantized.onnx").doesNotContainKey("onnx/model.onnx_data");

        ProblemException q4 = catchThrowableOfType(ProblemException.class, () -> fetch("q4"));
        assertThat(q4.type()).isEqualTo(ProblemType.HUB_NO_ONNX);
        assertThat(q4.detail()).contains("'q4'", "fp16", "fp32", "quantized");

        ProblemException unknown = catchThrowableOfType(ProblemException.class, () -> fetch("fp8"));
        assertThat(unknown.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(unknown.errors()).singleElement().satisfies(e -> assertThat(e.pointer()).isEqualTo("/variant"));
    }

    @Test
    void anInterruptedTransferIsResumedWithRangeAndTheResultIsByteIdentical() throws IOException {
        String sha = FakeHub.sha256(repo.files.get("onnx/model.onnx"));
        assertResumed("onnx/model.onnx", 100_000, s -> s.host().equals("cdn") && s.path().contains(sha));
    }

    @Test
    void aFileKeptInGitIsResumedFromTheHubItselfToo() throws IOException {
        assertResumed("tokenizer.json", 1000, s -> s.host().equals("hub") && s.path().endsWith("/tokenizer.json"));
    }

    private void assertResumed(String path, long cut, java.util.function.Predicate<FakeHub.Seen> transfers)
            throws IOException {
        hub.cutAfter.put(path, cut);
        hub.cutTimes.set(1);

        Snapshot snapshot = fetch(null);

        assertThat(Files.readAllBytes(snapshot.files().get(path))).isEqualTo(repo.files.get(path));
        assertThat(hub.seen).filteredOn(transfers).extracting(FakeHub.Seen::range)
                .containsExactly(Optional.empty(), Optional.of("bytes=" + cut + "-"));
        assertThat(blobNames()).noneMatch(n -> n.endsWith(".incomplete"));
    }

    @Test
    void aCorruptedTransferIsRefusedAndLeavesNothingInBlobsOrTheSnapshot() throws IOException {
        hub.corrupt.add("onnx/model.onnx");

        ProblemException e = catchThrowableOfType(ProblemException.class, () -> fetch(null));

        assertThat(e.type()).isEqualTo(ProblemType.HUB_BAD_ANSWER);
        assertThat(e.detail()).contains("onnx/model.onnx", "hash").doesNotContain(cacheDir.toString());
        String sha = FakeHub.sha256(repo.files.get("onnx/model.onnx"));
        assertThat(blobNames()).noneMatch(n -> n.startsWith(sha));
        assertThat(repoDir().resolve("snapshots").resolve(COMMIT).resolve("onnx/model.onnx")).doesNotExist();

        hub.corrupt.clear();
        assertThat(Files.readAllBytes(fetch(null).files().get("onnx/model.onnx"))).isEqualTo(repo.files.get("onnx/model.onnx"));
    }

    @Test
    void aTransferThatKeepsBreakingOffFailsAfterItsRetriesAndRemovesThePartialBlob() throws IOException {
        hub.cutAfter.put("onnx/model.onnx_data", 10L);
        hub.cutTimes.set(1000);

        ProblemException e = catchThrowableOfType(ProblemException.class, () -> fetch(null));

        assertThat(e.type()).isEqualTo(ProblemType.HUB_UNAVAILABLE);
        assertThat(e.detail()).contains("onnx/model.onnx_data");
        assertThat(blobNames()).noneMatch(n -> n.endsWith(".incomplete"))
                .doesNotContain(FakeHub.sha256(repo.files.get("onnx/model.onnx_data")));
    }

    /** Holds huggingface_hub's lock of a blob (fcntl, as Java's FileChannel lock is), writes the blob, lets go. */
    private static final String OTHER_PROCESS = """
            import fcntl, os, shutil, sys, time
            lock, source, blob = sys.argv[1:4]
            with open(lock, "w") as f:
                fcntl.lockf(f, fcntl.LOCK_EX)
                print("locked", flush=True)
                time.sleep(1.5)
                shutil.copyfile(source, blob + ".tmp")
                os.rename(blob + ".tmp", blob)
            """;

    @Test
    void aBlobAnotherProcessIsDownloadingIsWaitedForAndThenTakenFromTheCache(@TempDir Path scratch) throws Exception {
        byte[] onnx = repo.files.get("onnx/model.onnx");
        String sha = FakeHub.sha256(onnx);
        Path lock = cacheDir.resolve(".locks").resolve("models--acme--tiny-bert").resolve(sha + ".lock");
        Files.createDirectories(lock.getParent());
        Path blob = repoDir().resolve("blobs").resolve(sha);
        Files.createDirectories(blob.getParent());
        Path source = Files.write(scratch.resolve("model.onnx"), onnx);
        Process other = new ProcessBuilder("python3", "-c", OTHER_PROCESS, lock.toString(), source.toString(),
                blob.toString()).redirectErrorStream(true).start();
        try {
            assertThat(new String(other.getInputStream().readNBytes(7), StandardCharsets.US_ASCII)).isEqualTo("locked\n");

            Snapshot snapshot = fetch(null);

            assertThat(Files.readAllBytes(snapshot.files().get("onnx/model.onnx"))).isEqualTo(onnx);
            assertThat(hub.seen).as("the other process's blob is used, not fetched again")
                    .noneMatch(s -> s.host().equals("cdn") && s.path().contains(sha));
            assertThat(hub.requestsTo("/resolve/" + COMMIT + "/onnx/model.onnx_data")).isEqualTo(1);
        } finally {
            other.destroy();
            other.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void concurrentFetchesOfTheSameFileDownloadItOnce() throws Exception {
        hub.heldPath = "onnx/model.onnx";
        CompletableFuture<Snapshot> first = CompletableFuture.supplyAsync(() -> fetch(null));
        assertThat(hub.holding.await(20, TimeUnit.SECONDS)).isTrue();
        long treeRequests = hub.requestsTo("/tree/");
        CompletableFuture<Snapshot> second = CompletableFuture.supplyAsync(() -> fetch(null));
        Poll.until(() -> hub.requestsTo("/tree/") == 2 * treeRequests, Duration.ofSeconds(20),
                "the second fetch to list the files");
        hub.held.countDown();

        assertThat(first.get(30, TimeUnit.SECONDS).files()).isEqualTo(second.get(30, TimeUnit.SECONDS).files());
        String sha = FakeHub.sha256(repo.files.get("onnx/model.onnx"));
        assertThat(hub.seen).filteredOn(s -> s.host().equals("cdn") && s.path().contains(sha)).hasSize(1);
    }

    @Test
    void offlineModeReadsACacheLaidOutByHuggingfaceCliAndNeverConnects() throws IOException {
        Path dir = repoDir();
        byte[] graph = FakeHub.random(7, 5000);
        byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
        Files.createDirectories(dir.resolve("blobs"));
        Files.createDirectories(dir.resolve("refs"));
        Files.createDirectories(dir.resolve("snapshots").resolve(COMMIT).resolve("onnx"));
        Files.write(dir.resolve("blobs").resolve(FakeHub.sha256(graph)), graph);
        Files.write(dir.resolve("blobs").resolve(FakeHub.gitOid(config)), config);
        Files.writeString(dir.resolve("refs/main"), COMMIT);
        Path snapshot = dir.resolve("snapshots").resolve(COMMIT);
        Files.createSymbolicLink(snapshot.resolve("onnx/model.onnx"), Path.of("../../../blobs/" + FakeHub.sha256(graph)));
        Files.createSymbolicLink(snapshot.resolve("config.json"), Path.of("../../blobs/" + FakeHub.gitOid(config)));
        Files.createSymbolicLink(snapshot.resolve("tokenizer.json"), Path.of("/etc/hostname"));
        client.close();
        client = client(hub.endpoint(), Optional.of("hf_secret"), true);

        Snapshot found = fetch(null);

        assertThat(found.commit()).isEqualTo(COMMIT);
        assertThat(found.files().keySet()).as("a link leaving the repository's blobs is not served")
                .containsExactlyInAnyOrder("config.json", "onnx/model.onnx");
        assertThat(Files.readAllBytes(found.files().get("onnx/model.onnx"))).isEqualTo(graph);
        ProblemException missing = catchThrowableOfType(ProblemException.class,
                () -> client.fetch(request(REPO, "v2", null, PLENTY, Optional.empty()), HubProgress.NONE));
        assertThat(missing.type()).isEqualTo(ProblemType.HUB_NOT_CACHED);
        assertThat(missing.detail()).contains(REPO + "@v2", "offline").doesNotContain(cacheDir.toString());
        assertThat(catchThrowableOfType(ProblemException.class,
                () -> client.fetch(request("acme/other", "main", null, PLENTY, Optional.empty()), HubProgress.NONE)).type())
                .isEqualTo(ProblemType.HUB_NOT_CACHED);
        assertThat(hub.seen).isEmpty();
    }

    @Test
    void anUnreachableHubIsAClearRetryableProblemAndACachedCommitIsStillServed() throws IOException {
        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        client.close();
        client = client(URI.create("http://127.0.0.1:" + closed), Optional.empty(), false);

        ProblemException e = catchThrowableOfType(ProblemException.class, () -> fetch(null));
        assertThat(e.type()).isEqualTo(ProblemType.HUB_UNAVAILABLE);
        assertThat(e.type().retryable()).isTrue();

        HubClient online = client(hub.endpoint(), Optional.empty(), false);
        Snapshot cached = online.fetch(request(REPO, "main", null, PLENTY, Optional.empty()), HubProgress.NONE);
        online.close();
        assertThat(fetch(null).files()).isEqualTo(cached.files());
    }

    @Test
    void theHubsRefusalsBecomeProblemsNamingTheRepositoryOrRevision() {
        hub.repo("acme/secret", COMMIT).file("onnx/model.onnx", FakeHub.random(8, 10), true).isPrivate = true;
        hub.repo("acme/gated", COMMIT).file("onnx/model.onnx", FakeHub.random(9, 10), true).gated = true;
        hub.repo("acme/torch-only", COMMIT).file("config.json", "{}".getBytes(StandardCharsets.UTF_8), false)
                .file("model.safetensors", FakeHub.random(10, 100), true);

        assertProblem("acme/missing", "main", Optional.empty(), ProblemType.HUB_REPO_NOT_FOUND, "acme/missing");
        assertProblem(REPO, "no-such-branch", Optional.empty(), ProblemType.HUB_REPO_NOT_FOUND, "'no-such-branch'");
        assertProblem("acme/secret", "main", Optional.empty(), ProblemType.HUB_REPO_NOT_FOUND, "private", "token");
        assertProblem("acme/gated", "main", Optional.empty(), ProblemType.HUB_AUTH_REQUIRED, "gated", "token");
        assertProblem("acme/gated", "main", Optional.of("hf_wrong"), ProblemType.HUB_AUTH_REQUIRED, "refused the token");
        assertProblem("acme/torch-only", "main", Optional.empty(), ProblemType.HUB_NO_ONNX,
                "only PyTorch/safetensors weights", "optimum-cli export onnx --model acme/torch-only");

        assertThat(client.fetch(request("acme/gated", "main", null, PLENTY, Optional.of(FakeHub.TOKEN)), HubProgress.NONE)
                .files()).containsOnlyKeys("onnx/model.onnx");
    }

    private void assertProblem(String repoId, String revision, Optional<String> token, ProblemType type, String... says) {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> client.fetch(request(repoId, revision, null, PLENTY, token), HubProgress.NONE));
        assertThat(e).as(repoId + "@" + revision).isNotNull();
        assertThat(e.type()).as(e.detail()).isEqualTo(type);
        assertThat(e.detail()).contains(says).doesNotContain(FakeHub.TOKEN, "hf_wrong");
        assertThat(e.type().status()).isEqualTo(422);
    }

    @Test
    void filesOverTheSizeLimitAreRefusedBeforeAByteOfThemIsFetched() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> client.fetch(request(REPO, "main", null, 400_000, Optional.empty()), HubProgress.NONE));

        assertThat(e.type()).isEqualTo(ProblemType.UPLOAD_TOO_LARGE);
        assertThat(e.detail()).contains(REPO, "400000");
        assertThat(hub.seen).noneMatch(s -> s.path().contains("/resolve/") || s.host().equals("cdn"));
        assertThat(repoDir().resolve("blobs")).doesNotExist();
    }

    @Test
    void theTokenIsSentToTheHubAndNeverToTheDownloadHostItRedirectsTo() {
        repo.gated = true;
        client.close();
        client = client(hub.endpoint(), Optional.of(FakeHub.TOKEN), false);

        fetch(null);

        assertThat(hub.seen).filteredOn(s -> s.host().equals("hub")).isNotEmpty()
                .allSatisfy(s -> assertThat(s.authorization()).hasValue("Bearer " + FakeHub.TOKEN));
        assertThat(hub.seen).filteredOn(s -> s.host().equals("cdn")).isNotEmpty()
                .allSatisfy(s -> assertThat(s.authorization()).isEmpty());
    }

    @Test
    void aRepositoryIdOrRevisionThatWouldChangeTheUrlIsRefusedBeforeAnyRequest() {
        for (String attack : List.of("../../etc/passwd", "acme/../../admin", "acme/tiny-bert/../x", "acme/tiny-bert?x=1",
                "acme/tiny-bert#x", "http://evil.example/acme/x", "hf://evil.example:80/x/y", "/etc/passwd", "acme//x",
                "acme/x%2F..", "acme/..", "acme/--x", "acme/ x", "acme/x\n", "acme\\x", "acme/x/y", "")) {
            ProblemException e = catchThrowableOfType(ProblemException.class, () -> RepoId.parse(attack));
            assertThat(e).as(attack).isNotNull();
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
            assertThat(e.errors()).singleElement().satisfies(f -> assertThat(f.pointer()).isEqualTo("/source"));
        }
        for (String attack : List.of("../main", "main/../../x", "main?x=1", "main#x", "/main", "main//x", "",
                "http://evil/x", "main%2F..", "a\nb")) {
            ProblemException e = catchThrowableOfType(ProblemException.class,
                    () -> client.fetch(request(REPO, attack, null, PLENTY, Optional.empty()), HubProgress.NONE));
            assertThat(e).as(attack).isNotNull();
            assertThat(e.errors()).singleElement().satisfies(f -> assertThat(f.pointer()).isEqualTo("/revision"));
        }
        assertThat(hub.seen).isEmpty();
        assertThat(fetch(null).commit()).as("the legitimate request next to them").isEqualTo(COMMIT);
    }

    @Test
    void aHostileListingWithPathsLeavingTheRepositoryIsRefusedWholeAndNothingIsWritten() throws IOException {
        String escaped = "escaped-" + java.util.UUID.randomUUID();
        List<String> hostile = List.of("../../" + escaped, "onnx/../../../" + escaped, "/tmp/" + escaped,
                "onnx//model.onnx", "./" + escaped, "C:\\" + escaped, "onnx/\u0000" + escaped);
        for (String path : hostile) {
            FakeHub.Repo evil = hub.repo("evil/listing", COMMIT).file("onnx/model.onnx", FakeHub.random(11, 10), true);
            evil.extraEntries.add(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                    .put("type", "file").put("oid", FakeHub.gitOid(new byte[1])).put("size", 1).put("path", path));
            ProblemException e = catchThrowableOfType(ProblemException.class,
                    () -> client.fetch(request("evil/listing", "main", null, PLENTY, Optional.empty()), HubProgress.NONE));
            assertThat(e).as(path).isNotNull();
            assertThat(e.type()).isEqualTo(ProblemType.HUB_BAD_ANSWER);
        }
        assertThat(hub.seen).noneMatch(s -> s.path().contains("/resolve/"));
        try (Stream<Path> all = Files.walk(cacheDir)) {
            assertThat(all.filter(p -> p.getFileName().toString().contains(escaped))).isEmpty();
        }
        assertThat(cacheDir.getParent().resolve(escaped)).doesNotExist();
        assertThat(Path.of("/tmp", escaped)).doesNotExist();
    }

    @Test
    void aSnapshotFolderThatIsASymlinkOutOfTheCacheIsNotWrittenThrough(@TempDir Path outside) throws IOException {
        Path snapshot = repoDir().resolve("snapshots").resolve(COMMIT);
        Files.createDirectories(snapshot);
        Files.createSymbolicLink(snapshot.resolve("onnx"), outside);

        ProblemException e = catchThrowableOfType(ProblemException.class, () -> fetch(null));

        assertThat(e.type()).isEqualTo(ProblemType.HUB_BAD_ANSWER);
        try (Stream<Path> written = Files.list(outside)) {
            assertThat(written).isEmpty();
        }
        List<String> names = new ArrayList<>(blobNames());
        assertThat(names).noneMatch(n -> n.endsWith(".incomplete"));
    }
}
