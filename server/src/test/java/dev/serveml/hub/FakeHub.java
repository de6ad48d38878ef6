package dev.serveml.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small Hugging Face Hub on 127.0.0.1 (port 0) with its download host (the CDN LFS files are
 * redirected to) on 127.0.0.2, answering the routes {@link HubClient} uses with the headers the real
 * Hub sends: {@code X-Repo-Commit}, {@code ETag}, {@code X-Linked-Size}/{@code X-Linked-Etag} on the
 * LFS redirect, {@code Content-Range}/206 for {@code Range}, the tree paginated by {@code Link}
 * ({@link #pageSize} entries a page), and 401/404 with {@code X-Error-Code}. Faults on demand: a
 * transfer cut after N bytes, bytes corrupted, a transfer held until released, a hostile listing.
 * Every request is recorded with its host and {@code Authorization}.
 */
public final class FakeHub implements AutoCloseable {
    public static final String TOKEN = "hf_valid_test_token";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One request as the fake saw it. */
    public record Seen(String host, String path, Optional<String> authorization, Optional<String> range) {
    }

    public static final class Repo {
        public final String id;
        public final String commit;
        public final Map<String, String> refs = new LinkedHashMap<>();
        public final Map<String, byte[]> files = new LinkedHashMap<>();
        public final Set<String> lfs = ConcurrentHashMap.newKeySet();
        /** Entries added to the listing as they are, for hostile listings. */
        final List<ObjectNode> extraEntries = new ArrayList<>();
        public volatile String pipelineTag = "text-classification";
        public volatile boolean isPrivate;
        public volatile boolean gated;

        Repo(String id, String commit) {
            this.id = id;
            this.commit = commit;
            refs.put("main", commit);
        }

        public Repo file(String path, byte[] bytes, boolean isLfs) {
            files.put(path, bytes);
            if (isLfs) {
                lfs.add(path);
            }
            return this;
        }
    }

    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    public final List<Seen> seen = new CopyOnWriteArrayList<>();
    volatile int pageSize = 2;
    /** Repository path → bytes after which the next {@link #cutTimes} transfers of it break off. */
    public final Map<String, Long> cutAfter = new ConcurrentHashMap<>();
    public final AtomicInteger cutTimes = new AtomicInteger();
    /** Repository paths whose transfers carry one flipped byte. */
    final Set<String> corrupt = ConcurrentHashMap.newKeySet();
    /** When set, a transfer of {@link #heldPath} waits for it (counted down by the test). */
    public volatile String heldPath;
    public volatile CountDownLatch held = new CountDownLatch(1);
    public volatile CountDownLatch holding = new CountDownLatch(1);
    /** While set, the Hub's API answers (revision, tree) wait for it, as a Hub slow to answer; counted in {@link #apiWaiting}. */
    public volatile CountDownLatch apiHeld;
    public final AtomicInteger apiWaiting = new AtomicInteger();
    /** While set, every request is answered 503, as a Hub that is down (the client reads it as unreachable). */
    public volatile boolean down;

    public FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        cdn = HttpServer.create(new InetSocketAddress("127.0.0.2", 0), 0);
        hub.setExecutor(threads);
        cdn.setExecutor(threads);
        hub.createContext("/", this::hub);
        cdn.createContext("/", this::cdn);
        hub.start();
        cdn.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    public Repo repo(String id, String commit) {
        Repo repo = new Repo(id, commit);
        repos.put(id, repo);
        return repo;
    }

    /**
     * A repository holding the files of a fixture folder (src/test/resources/fixtures/hf/NAME), the
     * ONNX files among them kept in LFS as the Hub keeps weights.
     */
    public Repo fixture(String id, String commit, String name) {
        Repo repo = new Repo(id, commit);
        java.nio.file.Path dir = java.nio.file.Path.of("src", "test", "resources", "fixtures", "hf", name);
        try (java.util.stream.Stream<java.nio.file.Path> walk = java.nio.file.Files.walk(dir)) {
            for (java.nio.file.Path f : walk.filter(java.nio.file.Files::isRegularFile).sorted().toList()) {
                String path = dir.relativize(f).toString().replace('\\', '/');
                repo.file(path, java.nio.file.Files.readAllBytes(f), path.contains(".onnx"));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        repos.put(id, repo);
        return repo;
    }

    public static byte[] random(long seed, int size) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    public static String sha256(byte[] bytes) {
        return hex("SHA-256", new byte[0], bytes);
    }

    static String gitOid(byte[] bytes) {
        return hex("SHA-1", ("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII), bytes);
    }

    private static String hex(String algorithm, byte[] prefix, byte[] bytes) {
        try {
            MessageDigest digest = MessageDigest.getInstance(algorithm);
            digest.update(prefix);
            return HexFormat.of().formatHex(digest.digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public long requestsTo(String pathPart) {
        return seen.stream().filter(s -> s.path().contains(pathPart)).count();
    }

    private void record(HttpExchange exchange, String host) {
        seen.add(new Seen(host, exchange.getRequestURI().getRawPath() + Optional.ofNullable(
                exchange.getRequestURI().getRawQuery()).map(q -> "?" + q).orElse(""),
                Optional.ofNullable(exchange.getRequestHeaders().getFirst("Authorization")),
                Optional.ofNullable(exchange.getRequestHeaders().getFirst("Range"))));
    }

    private void hub(HttpExchange exchange) throws IOException {
        try (exchange) {
            record(exchange, "hub");
            if (down) {
                error(exchange, 503, null, "Service Unavailable");
                return;
            }
            String raw = exchange.getRequestURI().getRawPath();
            CountDownLatch slow = apiHeld;
            if (slow != null && raw.startsWith("/api/")) {
                apiWaiting.incrementAndGet();
                try {
                    slow.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    apiWaiting.decrementAndGet();
                }
            }
            String[] parts = raw.substring(1).split("/", -1);
            if (parts.length >= 5 && parts[0].equals("api") && parts[1].equals("models")) {
                Repo repo = repos.get(parts[2] + "/" + parts[3]);
                if (!allowed(exchange, repo)) {
                    return;
                }
                String revision = URLDecoder.decode(parts.length > 5 ? parts[5] : "", StandardCharsets.UTF_8);
                String commit = commitOf(repo, revision);
                if (commit == null) {
                    error(exchange, 404, "RevisionNotFound", "Invalid rev id: " + revision);
                } else if (parts[4].equals("revision") && parts.length == 6) {
                    info(exchange, repo, commit);
                } else if (parts[4].equals("tree") && parts.length == 6) {
                    tree(exchange, repo, commit);
                } else {
                    error(exchange, 404, null, "Not found");
                }
            } else if (parts.length >= 5 && parts[2].equals("resolve")) {
                Repo repo = repos.get(parts[0] + "/" + parts[1]);
                if (!allowed(exchange, repo)) {
                    return;
                }
                String commit = commitOf(repo, URLDecoder.decode(parts[3], StandardCharsets.UTF_8));
                if (commit == null) {
                    error(exchange, 404, "RevisionNotFound", "Invalid rev id");
                    return;
                }
                String path = URLDecoder.decode(raw.substring(raw.indexOf("/resolve/") + 9 + parts[3].length() + 1),
                        StandardCharsets.UTF_8);
                byte[] bytes = repo.files.get(path);
                if (bytes == null) {
                    error(exchange, 404, "EntryNotFound", "Entry not found");
                    return;
                }
                exchange.getResponseHeaders().set("X-Repo-Commit", commit);
                if (repo.lfs.contains(path)) {
                    String sha = sha256(bytes);
                    exchange.getResponseHeaders().set("ETag", "\"" + sha + "\"");
                    exchange.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
                    exchange.getResponseHeaders().set("X-Linked-Size", Long.toString(bytes.length));
                    exchange.getResponseHeaders().set("Location", "http://127.0.0.2:" + cdn.getAddress().getPort()
                            + "/repos/" + sha + "?file=" + path.replace('/', '_'));
                    exchange.sendResponseHeaders(302, -1);
                } else {
                    exchange.getResponseHeaders().set("ETag", "\"" + gitOid(bytes) + "\"");
                    serve(exchange, path, bytes);
                }
            } else {
                error(exchange, 404, null, "Not found");
            }
        }
    }

    private void cdn(HttpExchange exchange) throws IOException {
        try (exchange) {
            record(exchange, "cdn");
            if (down) {
                exchange.sendResponseHeaders(503, -1);
                return;
            }
            String sha = exchange.getRequestURI().getPath().substring("/repos/".length());
            for (Repo repo : repos.values()) {
                for (Map.Entry<String, byte[]> f : repo.files.entrySet()) {
                    if (repo.lfs.contains(f.getKey()) && sha256(f.getValue()).equals(sha)) {
                        serve(exchange, f.getKey(), f.getValue());
                        return;
                    }
                }
            }
            exchange.sendResponseHeaders(404, -1);
        }
    }

    /** Sends the file or the asked range of it, with the faults that are switched on. */
    private void serve(HttpExchange exchange, String path, byte[] bytes) throws IOException {
        if (path.equals(heldPath)) {
            holding.countDown();
            try {
                held.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int from = 0;
        String range = exchange.getRequestHeaders().getFirst("Range");
        if (range != null && range.matches("bytes=\\d+-")) {
            from = Integer.parseInt(range.substring(6, range.length() - 1));
            if (from >= bytes.length) {
                exchange.getResponseHeaders().set("Content-Range", "bytes */" + bytes.length);
                exchange.sendResponseHeaders(416, -1);
                return;
            }
            exchange.getResponseHeaders().set("Content-Range",
                    "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
        }
        exchange.getResponseHeaders().set("Accept-Ranges", "bytes");
        exchange.sendResponseHeaders(range != null ? 206 : 200, bytes.length - from);
        byte[] body = java.util.Arrays.copyOfRange(bytes, from, bytes.length);
        if (corrupt.contains(path) && body.length > 0) {
            body[body.length / 2] ^= 0x5a;
        }
        OutputStream out = exchange.getResponseBody();
        Long cut = cutAfter.get(path);
        if (cut != null && cutTimes.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            out.write(body, 0, (int) Math.min(cut, body.length));
            out.flush();
            // Closing the exchange short of its Content-Length drops the connection mid-body.
            return;
        }
        out.write(body);
    }

    private boolean allowed(HttpExchange exchange, Repo repo) throws IOException {
        String auth = exchange.getRequestHeaders().getFirst("Authorization");
        if (auth != null && !auth.equals("Bearer " + TOKEN)) {
            error(exchange, 401, null, "Invalid credentials in Authorization header");
            return false;
        }
        if (repo == null || (repo.isPrivate && auth == null)) {
            error(exchange, 401, "RepoNotFound", "Repository not found");
            return false;
        }
        if (repo.gated && auth == null) {
            error(exchange, 401, "GatedRepo", "Access to model " + repo.id + " is restricted.");
            return false;
        }
        return true;
    }

    private static String commitOf(Repo repo, String revision) {
        if (revision.equals(repo.commit) || repo.refs.containsValue(revision)) {
            return revision;
        }
        return repo.refs.get(revision);
    }

    private void info(HttpExchange exchange, Repo repo, String commit) throws IOException {
        ObjectNode body = JSON.createObjectNode().put("id", repo.id).put("sha", commit)
                .put("private", repo.isPrivate);
        if (repo.gated) {
            body.put("gated", "auto");
        } else {
            body.put("gated", false);
        }
        if (repo.pipelineTag != null) {
            body.put("pipeline_tag", repo.pipelineTag);
        }
        ArrayNode siblings = body.putArray("siblings");
        repo.files.keySet().forEach(p -> siblings.addObject().put("rfilename", p));
        json(exchange, body.toString().getBytes(StandardCharsets.UTF_8), null);
    }

    private void tree(HttpExchange exchange, Repo repo, String commit) throws IOException {
        List<ObjectNode> entries = new ArrayList<>();
        java.util.Set<String> folders = new java.util.TreeSet<>();
        repo.files.forEach((path, bytes) -> {
            for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
                folders.add(path.substring(0, i));
            }
        });
        folders.forEach(f -> entries.add(JSON.createObjectNode().put("type", "directory").put("oid",
                gitOid(f.getBytes(StandardCharsets.UTF_8))).put("size", 0).put("path", f)));
        repo.files.forEach((path, bytes) -> {
            ObjectNode e = JSON.createObjectNode().put("type", "file").put("oid", repo.lfs.contains(path)
                    ? gitOid(("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256(bytes)).getBytes(
                    StandardCharsets.UTF_8)) : gitOid(bytes)).put("size", bytes.length).put("path", path);
            if (repo.lfs.contains(path)) {
                e.putObject("lfs").put("oid", sha256(bytes)).put("size", bytes.length).put("pointerSize", 134);
            }
            entries.add(e);
        });
        entries.addAll(repo.extraEntries);
        String query = Optional.ofNullable(exchange.getRequestURI().getRawQuery()).orElse("");
        int cursor = 0;
        for (String kv : query.split("&")) {
            if (kv.startsWith("cursor=")) {
                cursor = Integer.parseInt(kv.substring(7));
            }
        }
        int end = Math.min(entries.size(), cursor + pageSize);
        ArrayNode page = JSON.createArrayNode();
        entries.subList(cursor, end).forEach(page::add);
        String link = end < entries.size() ? "<" + endpoint() + "/api/models/" + repo.id + "/tree/" + commit
                + "?recursive=true&cursor=" + end + ">; rel=\"next\"" : null;
        json(exchange, page.toString().getBytes(StandardCharsets.UTF_8), link);
    }

    private static void json(HttpExchange exchange, byte[] body, String link) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        if (link != null) {
            exchange.getResponseHeaders().set("Link", link);
        }
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
    }

    private static void error(HttpExchange exchange, int status, String code, String message) throws IOException {
        if (code != null) {
            exchange.getResponseHeaders().set("X-Error-Code", code);
        }
        exchange.getResponseHeaders().set("X-Error-Message", message);
        byte[] body = ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    @Override
    public void close() {
        held.countDown();
        hub.stop(0);
        cdn.stop(0);
        threads.shutdownNow();
    }
}
