package dev.serveml.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.config.HubConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads repositories from the Hugging Face Hub into the local cache.
 * <p>
 * {@link #fetch} resolves a revision to its commit ({@code GET /api/models/{repo}/revision/{rev}}),
 * lists the files at that commit ({@code GET /api/models/{repo}/tree/{commit}?recursive=true},
 * following {@code Link: rel="next"}), chooses the files a text model needs, refuses them when they
 * add up to more than the request allows before a byte is fetched, then downloads each from
 * {@code /{repo}/resolve/{commit}/{path}} (following redirects to the download host), resuming an
 * interrupted transfer with {@code Range}, checking the bytes against the listing (the LFS sha256,
 * else the git blob id) and moving a blob into place only once it matches.
 * <p>
 * The token goes as {@code Authorization: Bearer} to the configured endpoint's origin only, never
 * to a redirect target elsewhere; it is never logged nor put in a problem's detail.
 * <p>
 * Blocking: call it from a worker thread (not an event loop, not a virtual thread: it reads
 * sockets and files for as long as a download takes). Thread-safe; concurrent fetches of the same
 * blob in this JVM download it once and the others wait for it.
 */
public final class HubClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HubClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REDIRECTS = 5;
    private static final int MAX_ATTEMPTS = 4;
    private static final int MAX_PAGES = 1000;
    private static final int MAX_FILES = 100_000;
    private static final int MAX_JSON_BYTES = 32 << 20;
    private static final Pattern NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final HubConfig config;
    private final HubCache cache;
    private final HttpClient http;
    private final Duration backoff;
    private final ScheduledExecutorService watchdog;
    private final Map<Path, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    public HubClient(HubConfig config) {
        this(config, Duration.ofSeconds(1));
    }

    /** @param backoff the wait before the second attempt of a transfer, doubled each time after (zero in tests) */
    HubClient(HubConfig config, Duration backoff) {
        this.config = config;
        this.cache = new HubCache(config.cacheDir());
        this.backoff = backoff;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(config.timeout()).build();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hub-stall-watchdog");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Brings a repository's text-model files at a revision into the cache: from the Hub, or from
     * the cache alone in offline mode (and when the Hub cannot be reached but the cache holds the
     * revision). Blocking.
     *
     * @throws ProblemException {@code invalid-request}, {@code hub-repo-not-found}, {@code hub-auth-required},
     *                          {@code hub-no-onnx}, {@code payload-too-large}, {@code hub-not-cached},
     *                          {@code hub-bad-answer}, {@code hub-unavailable}, {@code storage-full}
     */
    public Snapshot fetch(HubRequest request, HubProgress progress) {
        return download(request, plan(request), progress);
    }

    /**
     * Decides what {@link #download} will fetch, without fetching a byte of any file: asks the Hub
     * for the revision and the listing (or, offline and when the Hub cannot be reached but the cache
     * holds the revision, reads the cache), chooses the files and refuses them over the size limit.
     * Records in the cache what the revision resolved to, and whether the Hub called the repository
     * public (see {@link HubRequest#privileged}). Blocking.
     *
     * @throws ProblemException as {@link #fetch} does, but never {@code storage-full}
     */
    public HubPlan plan(HubRequest request) {
        Revision revision = new Revision(request.revision());
        if (config.offline()) {
            return planFromCache(request, revision, "offline mode (SERVEML_HF_OFFLINE) reads only the cache");
        }
        Optional<String> token = tokenFor(request);
        RepoInfo info;
        try {
            info = info(request.repo(), revision, token);
        } catch (ProblemException e) {
            // A tenant is told the Hub is down, as for a repository never fetched, unless the cache may serve
            // them: what an administrator's token fetched is not revealed by a different answer.
            if (e.type() != ProblemType.HUB_UNAVAILABLE || cache.commitOf(request.repo(), revision).isEmpty()
                    || (!request.privileged() && !cache.recordedPublic(request.repo()))) {
                throw e;
            }
            LOG.warn("Hugging Face Hub unreachable ({}); using the cached {}@{}", e.detail(), request.repo(), revision);
            return planFromCache(request, revision, "and the Hub cannot be reached");
        }
        List<RepoFile> listing = listFiles(request.repo(), new Revision(info.commit()), token);
        FileChoice choice = FileChoice.choose(request.repo(), listing, request.variant());
        refuseOverLimit(request, choice);
        try {
            cache.writeRef(request.repo(), revision, info.commit());
            cache.recordPublic(request.repo(), !info.isPrivate() && !info.gated());
        } catch (IOException e) {
            throw local(e);
        }
        return new HubPlan(request.repo(), revision.name(), info.commit(), Optional.of(info), listing, choice);
    }

    /**
     * Brings the planned files into the cache (from the cache itself when the plan was made from it)
     * and links them into the commit's snapshot. Blocking, for as long as the transfer takes.
     *
     * @param request the request the plan was made for (its token is used again)
     */
    public Snapshot download(HubRequest request, HubPlan plan, HubProgress progress) {
        FileChoice choice = plan.choice();
        Path snapshot = cache.snapshotDir(plan.repo(), plan.commit());
        Map<String, Path> files = new LinkedHashMap<>();
        if (plan.fromCache()) {
            AtomicLong done = new AtomicLong();
            choice.files().forEach(f -> {
                files.put(f.path(), snapshot.resolve(f.path()));
                progress.update(new HubProgress.Progress(f.path(), f.size(), f.size(), done.addAndGet(f.size()),
                        choice.totalBytes()));
            });
            return new Snapshot(plan.repo(), plan.commit(), snapshot, files, choice.onnx().path(), Optional.empty(),
                    choice.totalBytes());
        }
        Optional<String> token = tokenFor(request);
        AtomicLong done = new AtomicLong();
        for (RepoFile file : choice.files()) {
            download(plan.repo(), plan.commit(), file, token, progress, done, choice.totalBytes());
            try {
                files.put(file.path(), cache.link(plan.repo(), plan.commit(), file));
            } catch (IllegalArgumentException e) {
                LOG.error("{}: a folder of the cached snapshot {} leads out of the cache (a symlink); refused",
                        plan.repo(), plan.commit());
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the file " + file.path() + " of "
                        + plan.repo() + " would be placed outside its cache folder; nothing was written there");
            } catch (IOException e) {
                throw local(e);
            }
        }
        return new Snapshot(plan.repo(), plan.commit(), snapshot, files, choice.onnx().path(), plan.pipelineTag(),
                choice.totalBytes());
    }

    /** Whether the cache already holds every planned file of the commit (nothing would be downloaded). */
    public boolean cached(HubPlan plan) {
        return plan.choice().files().stream().allMatch(f -> cache.holds(plan.repo(), plan.commit(), f));
    }

    /** The request's own token, else the server's for a privileged request only. */
    private Optional<String> tokenFor(HubRequest request) {
        Optional<String> own = request.token().filter(t -> !t.isBlank());
        return request.privileged() ? own.or(config::token).filter(t -> !t.isBlank()) : own;
    }

    /**
     * The repository at a revision: its commit, task tag and file names. Blocking.
     *
     * @param token sent as it is; the server's own token is used only through a privileged {@link #plan}
     */
    public RepoInfo info(RepoId repo, String revision, Optional<String> token) {
        return info(repo, new Revision(revision), token.filter(t -> !t.isBlank()));
    }

    private RepoInfo info(RepoId repo, Revision revision, Optional<String> token) {
        URI uri = api("/api/models/" + repo.id() + "/revision/" + revision.encoded());
        JsonNode body = getJson(uri, repo, revision.name(), token).body();
        String commit = body.path("sha").asText("");
        if (!Revision.isCommit(commit)) {
            throw new ProblemException(ProblemType.HUB_BAD_ANSWER,
                    "the Hub's answer for " + repo + "@" + revision + " has no commit");
        }
        List<String> siblings = new ArrayList<>();
        body.path("siblings").forEach(s -> siblings.add(s.path("rfilename").asText("")));
        JsonNode tag = body.path("pipeline_tag");
        JsonNode gated = body.path("gated");
        return new RepoInfo(repo, commit, tag.isTextual() ? Optional.of(tag.asText()) : Optional.empty(),
                body.path("private").asBoolean(false), gated.isTextual() || gated.asBoolean(false), siblings);
    }

    /** Every file at a commit, across the listing's pages; the token is sent as it is. Blocking. */
    public List<RepoFile> listFiles(RepoId repo, String commit, Optional<String> token) {
        return listFiles(repo, new Revision(commit), token.filter(t -> !t.isBlank()));
    }

    private List<RepoFile> listFiles(RepoId repo, Revision at, Optional<String> effective) {
        String commit = at.name();
        URI next = api("/api/models/" + repo.id() + "/tree/" + at.encoded() + "?recursive=true");
        List<RepoFile> files = new ArrayList<>();
        for (int page = 0; next != null; page++) {
            if (page == MAX_PAGES) {
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub's listing of " + repo + " never ends");
            }
            Json answer = getJson(next, repo, commit, effective);
            if (!answer.body().isArray()) {
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub's listing of " + repo + " is not a list");
            }
            for (JsonNode entry : answer.body()) {
                if (entry.path("type").asText("").equals("file")) {
                    files.add(repoFile(repo, entry));
                }
            }
            if (files.size() > MAX_FILES) {
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, repo + " lists more than " + MAX_FILES + " files");
            }
            next = nextPage(answer.link(), repo);
        }
        return files;
    }

    private RepoFile repoFile(RepoId repo, JsonNode entry) {
        JsonNode lfs = entry.path("lfs");
        try {
            return new RepoFile(entry.path("path").asText(""),
                    lfs.isObject() ? lfs.path("size").asLong(-1) : entry.path("size").asLong(-1),
                    Optional.of(entry.path("oid").asText("")),
                    lfs.isObject() ? Optional.of(lfs.path("oid").asText("")) : Optional.empty());
        } catch (IllegalArgumentException e) {
            throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub's listing of " + repo + " holds an entry "
                    + "ServeML refuses (a path that is not plain and relative, or a missing size or hash); nothing was used");
        }
    }

    /** The next page, which must be on the endpoint's own origin (it is asked with the token). */
    private URI nextPage(Optional<String> link, RepoId repo) {
        if (link.isEmpty()) {
            return null;
        }
        Matcher m = NEXT.matcher(link.get());
        if (!m.find()) {
            return null;
        }
        try {
            URI next = config.endpoint().resolve(m.group(1));
            if (sameOrigin(next)) {
                return next;
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw new ProblemException(ProblemType.HUB_BAD_ANSWER,
                "the Hub's listing of " + repo + " points its next page away from the Hub");
    }

    private HubPlan planFromCache(HubRequest request, Revision revision, String why) {
        RepoId repo = request.repo();
        ProblemException notCached = new ProblemException(ProblemType.HUB_NOT_CACHED, repo + "@" + revision
                + " is not in the local Hugging Face cache, " + why + "; fetch it once online (or with "
                + "`huggingface-cli download " + repo + "`)");
        // A tenant gets the same answer for a repository only an administrator's token could read as for
        // one never fetched: whether it is cached is not theirs to learn.
        if (!request.privileged() && !cache.recordedPublic(repo)) {
            throw notCached;
        }
        String commit = cache.commitOf(repo, revision).orElseThrow(() -> notCached);
        List<RepoFile> listing = cache.cachedListing(repo, commit).orElseThrow(() -> notCached);
        FileChoice choice;
        try {
            choice = FileChoice.choose(repo, listing, request.variant());
        } catch (ProblemException e) {
            if (e.type() != ProblemType.HUB_NO_ONNX) {
                throw e;
            }
            throw new ProblemException(ProblemType.HUB_NOT_CACHED, "the cached " + repo + "@" + revision
                    + " has no '" + request.variant().orElse("fp32") + "' ONNX graph, " + why);
        }
        refuseOverLimit(request, choice);
        return new HubPlan(repo, revision.name(), commit, Optional.empty(), listing, choice);
    }

    private static void refuseOverLimit(HubRequest request, FileChoice choice) {
        if (choice.totalBytes() > request.maxBytes()) {
            throw new ProblemException(ProblemType.UPLOAD_TOO_LARGE, "the files " + request.repo() + " needs hold "
                    + choice.totalBytes() + " bytes, over this server's limit of " + request.maxBytes()
                    + " (SERVEML_MAX_UPLOAD_SIZE); nothing was downloaded");
        }
    }

    /** One blob, unless the cache has it; a second caller for the same blob waits for the first. */
    private void download(RepoId repo, String commit, RepoFile file, Optional<String> token, HubProgress progress,
                          AtomicLong done, long total) {
        Path blob = cache.blob(repo, file);
        while (true) {
            if (complete(blob, file)) {
                progress.update(new HubProgress.Progress(file.path(), file.size(), file.size(),
                        done.addAndGet(file.size()), total));
                return;
            }
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> theirs = inFlight.putIfAbsent(blob, mine);
            if (theirs != null) {
                try {
                    theirs.join();
                } catch (CompletionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r : e;
                }
                continue;
            }
            // Another process (a second ServeML, huggingface-cli) may write the same blob: its lock is
            // taken around the transfer, as huggingface_hub takes it, and the blob looked for again after.
            try (HubCache.BlobLock lock = cache.lock(repo, file)) {
                if (complete(blob, file)) {
                    progress.update(new HubProgress.Progress(file.path(), file.size(), file.size(),
                            done.addAndGet(file.size()), total));
                } else {
                    transfer(repo, commit, file, token, progress, done, total);
                }
                mine.complete(null);
                return;
            } catch (IOException e) {
                ProblemException p = new ProblemException(ProblemType.HUB_UNAVAILABLE, "the download of " + file.path()
                        + " from " + repo + " could not lock its place in the cache; try again later", e);
                mine.completeExceptionally(p);
                if (e instanceof java.nio.channels.FileLockInterruptionException) {
                    Thread.currentThread().interrupt();
                    throw p;
                }
                throw isLocal(e) ? local(e) : p;
            } catch (RuntimeException e) {
                mine.completeExceptionally(e);
                throw e;
            } finally {
                inFlight.remove(blob, mine);
            }
        }
    }

    private static boolean complete(Path blob, RepoFile file) {
        try {
            return Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS) && Files.size(blob) == file.size();
        } catch (IOException e) {
            return false;
        }
    }

    /** Attempts until the blob is in place; on giving up, the partial file is removed. */
    private void transfer(RepoId repo, String commit, RepoFile file, Optional<String> token, HubProgress progress,
                          AtomicLong done, long total) {
        Path partial;
        try {
            cache.blobsDir(repo);
            partial = cache.incomplete(repo, file);
        } catch (IOException e) {
            throw local(e);
        }
        URI uri = api("/" + repo.id() + "/resolve/" + commit + "/" + encodePath(file.path()));
        ProblemException last = null;
        long before = done.get();
        try {
            for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
                if (attempt > 1) {
                    pause(attempt);
                }
                done.set(before);
                try {
                    if (receive(uri, repo, file, partial, token, progress, done, total)) {
                        if (matches(partial, file)) {
                            Files.move(partial, cache.blob(repo, file), StandardCopyOption.ATOMIC_MOVE);
                            return;
                        }
                        Files.deleteIfExists(partial);
                        last = new ProblemException(ProblemType.HUB_BAD_ANSWER, "the download of " + file.path()
                                + " from " + repo + " did not match the hash the Hub lists for it; nothing was kept");
                        LOG.warn("{} {}: hash mismatch (attempt {} of {})", repo, file.path(), attempt, MAX_ATTEMPTS);
                    } else {
                        last = new ProblemException(ProblemType.HUB_UNAVAILABLE, "the download of " + file.path()
                                + " from " + repo + " kept breaking off; try again later");
                    }
                } catch (IOException e) {
                    if (isLocal(e)) {
                        throw local(e);
                    }
                    LOG.info("{} {}: transfer interrupted (attempt {} of {}): {}", repo, file.path(), attempt,
                            MAX_ATTEMPTS, e.toString());
                    last = new ProblemException(ProblemType.HUB_UNAVAILABLE, "the download of " + file.path()
                            + " from " + repo + " kept breaking off; try again later");
                } catch (ProblemException e) {
                    if (e.type() != ProblemType.HUB_UNAVAILABLE) {
                        throw e;
                    }
                    last = e;
                }
            }
            throw last;
        } catch (RuntimeException e) {
            try {
                Files.deleteIfExists(partial);
            } catch (IOException ignored) {
                // the next attempt truncates it
            }
            throw e;
        }
    }

    /**
     * One GET of the file, resuming from what {@code partial} holds.
     *
     * @return whether the partial file now holds all {@code file.size()} bytes
     */
    private boolean receive(URI uri, RepoId repo, RepoFile file, Path partial, Optional<String> token,
                            HubProgress progress, AtomicLong done, long total) throws IOException {
        long have = Files.exists(partial) ? Files.size(partial) : 0;
        if (have > file.size()) {
            Files.delete(partial);
            have = 0;
        }
        if (have == file.size() && have > 0) {
            return true;
        }
        HttpResponse<InputStream> response = send(uri, token, have > 0 ? Optional.of("bytes=" + have + "-")
                : Optional.empty(), true);
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            boolean append;
            if (status == 206) {
                Matcher m = CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
                if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                    throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub resumed " + file.path() + " of "
                            + repo + " at another offset than asked");
                }
                append = true;
            } else if (status == 200) {
                append = false;
                have = 0;
            } else if (status == 416) {
                Files.deleteIfExists(partial);
                return false;
            } else {
                throw refusal(response, repo, file.path(), token.isPresent());
            }
            done.addAndGet(have);
            progress.update(new HubProgress.Progress(file.path(), have, file.size(), done.get(), total));
            return copy(body, partial, append, have, file, progress, done, total);
        }
    }

    private boolean copy(InputStream body, Path partial, boolean append, long have, RepoFile file,
                         HubProgress progress, AtomicLong done, long total) throws IOException {
        AtomicLong lastRead = new AtomicLong(System.nanoTime());
        long stallNanos = config.timeout().toNanos();
        ScheduledFuture<?> guard = watchdog.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastRead.get() > stallNanos) {
                try {
                    body.close();
                } catch (IOException ignored) {
                    // the reader sees the stream end either way
                }
            }
        }, stallNanos / 2, Math.max(stallNanos / 4, 1), TimeUnit.NANOSECONDS);
        try (OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buffer = new byte[64 * 1024];
            long at = have;
            int n;
            while ((n = body.read(buffer)) >= 0) {
                lastRead.set(System.nanoTime());
                if (at + n > file.size()) {
                    throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub sent more of " + file.path()
                            + " than its listing says it holds");
                }
                writeLocal(out, buffer, n);
                at += n;
                progress.update(new HubProgress.Progress(file.path(), at, file.size(), done.addAndGet(n), total));
            }
            return at == file.size();
        } finally {
            guard.cancel(false);
        }
    }

    /** Marks a write failure as the disk's, so it is not retried as a network fault. */
    private static void writeLocal(OutputStream out, byte[] buffer, int n) throws IOException {
        try {
            out.write(buffer, 0, n);
        } catch (IOException e) {
            throw new LocalIOException(e);
        }
    }

    private static final class LocalIOException extends IOException {
        LocalIOException(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private static boolean isLocal(IOException e) {
        return e instanceof LocalIOException || e instanceof java.nio.file.FileSystemException;
    }

    private static ProblemException local(IOException e) {
        IOException cause = e instanceof LocalIOException && e.getCause() instanceof IOException c ? c : e;
        String message = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        if (message.contains("no space left") || message.contains("disk quota")) {
            return new ProblemException(ProblemType.STORAGE_FULL,
                    "the disk holding the Hugging Face cache is full; nothing was kept", cause);
        }
        throw new java.io.UncheckedIOException("Hugging Face cache: " + cause.getMessage(), cause);
    }

    /** Checks the bytes against the LFS sha256, or for a file kept in git, against its git blob id. */
    private static boolean matches(Path partial, RepoFile file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance(file.sha256().isPresent() ? "SHA-256" : "SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (file.sha256().isEmpty()) {
            digest.update(("blob " + file.size() + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        try (InputStream in = Files.newInputStream(partial)) {
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest()).equals(file.blobName());
    }

    private void pause(int attempt) {
        long millis = backoff.toMillis() << (attempt - 2);
        if (millis <= 0) {
            return;
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProblemException(ProblemType.HUB_UNAVAILABLE, "the download was interrupted");
        }
    }

    private record Json(JsonNode body, Optional<String> link) {
    }

    private Json getJson(URI uri, RepoId repo, String revision, Optional<String> token) {
        try {
            HttpResponse<InputStream> response = send(uri, token, Optional.empty(), false);
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw refusal(response, repo, revision, token.isPresent());
                }
                byte[] bytes = body.readNBytes(MAX_JSON_BYTES + 1);
                if (bytes.length > MAX_JSON_BYTES) {
                    throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub's answer about " + repo + " is too large");
                }
                return new Json(JSON.readTree(bytes), response.headers().firstValue("Link"));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub's answer about " + repo + " is not JSON");
        } catch (IOException e) {
            throw unreachable(e);
        }
    }

    /**
     * The Hub down or slow is an outside system's state, not a server failure: logged here in one
     * line, and the problem carries no cause (which would have it logged as an unexpected error).
     */
    private ProblemException unreachable(IOException e) {
        LOG.warn("the Hugging Face Hub at {} cannot be reached: {}", config.endpoint(), e.toString());
        return new ProblemException(ProblemType.HUB_UNAVAILABLE, "the Hugging Face Hub at " + config.endpoint()
                + " cannot be reached; try again later");
    }

    /**
     * Sends a GET and follows redirects itself, so the token goes to the endpoint's origin only.
     * API calls follow redirects on that origin only (a renamed repository); downloads anywhere
     * over http(s) (the Hub sends LFS files to its CDN).
     */
    private HttpResponse<InputStream> send(URI first, Optional<String> token, Optional<String> range, boolean download)
            throws IOException {
        URI uri = first;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET().timeout(config.timeout())
                    .header("User-Agent", "serveml; hf-hub-client")
                    .header("Accept-Encoding", "identity");
            if (sameOrigin(uri)) {
                token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
            }
            range.ifPresent(r -> request.header("Range", r));
            HttpResponse<InputStream> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ProblemException(ProblemType.HUB_UNAVAILABLE, "the request to the Hub was interrupted");
            } catch (IllegalArgumentException e) {
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub redirected to an unusable address");
            }
            int status = response.statusCode();
            if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
                return response;
            }
            response.body().close();
            URI next;
            try {
                next = uri.resolve(response.headers().firstValue("Location").orElseThrow());
            } catch (RuntimeException e) {
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub redirected to an unusable address");
            }
            String scheme = String.valueOf(next.getScheme()).toLowerCase(Locale.ROOT);
            if (!(scheme.equals("https") || scheme.equals("http")) || next.getHost() == null
                    || (!download && !sameOrigin(next))) {
                throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub redirected to an address ServeML "
                        + "does not follow");
            }
            uri = next;
        }
        throw new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hub redirected more than " + MAX_REDIRECTS + " times");
    }

    private boolean sameOrigin(URI uri) {
        URI endpoint = config.endpoint();
        return endpoint.getScheme().equalsIgnoreCase(String.valueOf(uri.getScheme()))
                && endpoint.getHost().equalsIgnoreCase(String.valueOf(uri.getHost()))
                && port(endpoint) == port(uri);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private URI api(String pathAndQuery) {
        return URI.create(config.endpoint() + pathAndQuery);
    }

    /** Each segment percent-encoded; the path was checked to be plain segments. */
    private static String encodePath(String path) {
        StringBuilder out = new StringBuilder();
        for (String segment : path.split("/")) {
            if (!out.isEmpty()) {
                out.append('/');
            }
            out.append(java.net.URLEncoder.encode(segment, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return out.toString();
    }

    /** What a refusal of the Hub means for the caller, by its {@code X-Error-Code} as huggingface_hub reads it. */
    private ProblemException refusal(HttpResponse<?> response, RepoId repo, String what, boolean tokenSent) {
        int status = response.statusCode();
        String code = response.headers().firstValue("X-Error-Code").orElse("");
        String message = response.headers().firstValue("X-Error-Message").orElse("");
        if (code.equals("RevisionNotFound")) {
            return new ProblemException(ProblemType.HUB_REPO_NOT_FOUND, repo + " has no revision '" + what + "'");
        }
        if (code.equals("EntryNotFound")) {
            return new ProblemException(ProblemType.HUB_REPO_NOT_FOUND, repo + " has no file '" + what + "'");
        }
        if (code.equals("GatedRepo")) {
            return new ProblemException(ProblemType.HUB_AUTH_REQUIRED, repo + " is gated: accept its conditions on "
                    + "the Hub, then give a token of that account (SERVEML_HF_TOKEN or the request's token)"
                    + (tokenSent ? "; the token given has no access yet" : ""));
        }
        if (status == 401 && tokenSent && message.startsWith("Invalid credentials")) {
            return new ProblemException(ProblemType.HUB_AUTH_REQUIRED,
                    "the Hub refused the token given for " + repo + " (invalid or expired)");
        }
        if (code.equals("RepoNotFound") || status == 401 || status == 404) {
            return new ProblemException(ProblemType.HUB_REPO_NOT_FOUND, repo + " was not found on the Hugging Face Hub"
                    + (tokenSent ? " (or the token given cannot read it)"
                    : "; if it is private, a token with access to it is needed (SERVEML_HF_TOKEN or the request's token)"));
        }
        if (status == 403) {
            return new ProblemException(ProblemType.HUB_AUTH_REQUIRED, "the Hub refused access to " + repo
                    + (tokenSent ? " with the token given" : "; a token with access to it is needed"));
        }
        if (status == 429 || status >= 500) {
            ProblemException e = new ProblemException(ProblemType.HUB_UNAVAILABLE,
                    "the Hugging Face Hub answered HTTP " + status + " for " + repo + "; try again later");
            response.headers().firstValue("Retry-After").filter(v -> v.matches("\\d{1,6}"))
                    .ifPresent(v -> e.retryAfter(Long.parseLong(v)));
            return e;
        }
        return new ProblemException(ProblemType.HUB_BAD_ANSWER, "the Hugging Face Hub answered HTTP " + status
                + " for " + repo);
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        // Now, not close(): that waits for every exchange in flight, and a stalled download would hold the stop.
        http.shutdownNow();
    }
}
