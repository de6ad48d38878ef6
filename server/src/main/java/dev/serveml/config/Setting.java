package dev.serveml.config;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.IntUnaryOperator;
import java.util.stream.Collectors;

/**
 * The catalogue of every {@code SERVEML_*} key: its type, default, check, whether it is a secret and
 * one line of documentation. {@link ConfigLoader} reads only through it, the README's
 * Configuration table is rendered from it ({@link #markdownTable()}, held by a test) and
 * {@code java -jar serveml.jar config} lists the effective values from it, secrets as {@code ***}.
 * The constants are in the README's order; the loader reads them in the records' order, which is
 * the order problems are listed in.
 */
public enum Setting {
    SERVEML_CONFIG_FILE(path("").doc("(none)"),
            "a properties file with any of these keys (written as here); the environment takes precedence"),
    SERVEML_DATA_DIR(path("./serveml-data"),
            "embedded PostgreSQL, artifacts, temporary uploads; one ServeML per data directory (a second is refused, "
                    + "naming the first one's pid). The embedded PostgreSQL listens on 127.0.0.1 only, on no Unix socket, "
                    + "and wants the password generated into `postgres/password` (mode 0600) for every connection; a data "
                    + "directory from an older ServeML is switched to it at the first start. ServeML stops a PostgreSQL "
                    + "that a killed ServeML left running on its data directory before starting its own"),
    SERVEML_ARTIFACTS_DIR(path("").doc("`<data dir>/artifacts`"),
            "where model files and batch jobs' files are kept; replicas on one database (`SERVEML_DATABASE_URL`) "
                    + "share one such directory on a network volume"),
    SERVEML_HTTP_HOST(string("0.0.0.0").doc("`0.0.0.0` (`127.0.0.1` with `SERVEML_AUTH=off`)"),
            "address the listener binds"),
    SERVEML_HTTP_PORT(integer("8080", 0, 65535), "listener port (0 picks one)"),
    SERVEML_PORT_FILE(path("").doc("(none)"),
            "a file to write the port to once listening (removed at stop); for port 0"),
    SERVEML_HTTP_HEADER_TIMEOUT(duration("10s", false), "time for a new connection's first request headers"),
    SERVEML_HTTP_IDLE_TIMEOUT(duration("75s", false), "idle time between requests or in a stalled body"),
    SERVEML_HTTP_MAX_CONNECTIONS(integer("10000", 1, 1_000_000),
            "connections open at once; more are closed as they arrive"),
    SERVEML_SHUTDOWN_TIMEOUT(duration("30s", true), "how long a stop waits for requests in flight (`0`: not at all)"),
    SERVEML_MAX_UPLOAD_SIZE(size("1GB"), "largest model upload (413 above)"),
    SERVEML_STORAGE_QUOTA_PER_USER(size("10GB"),
            "artifacts one user's models may hold: every version, deleted ones too, each distinct file once (413 "
                    + "`storage-quota-exceeded` above; administrators are exempt); a user's batch job files (uploaded "
                    + "files, inputs sent with jobs) have a budget of the same size of their own"),
    SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER(integer("2", 1, 1024),
            "uploads one user may have being received or validated at once (429 `too-many-uploads` with "
                    + "`Retry-After` above)"),
    SERVEML_UPLOAD_THREADS(integer(cores -> Math.max(2, cores), "cores (at least 2)", 1, 256),
            "threads that validate uploads by loading them, kept apart from the HTTP worker pool so sign-ins and "
                    + "reads never wait behind a slow model"),
    SERVEML_UPLOAD_QUEUE(integer("64", 0, 100_000),
            "uploads waiting for an upload thread (503 `service-unavailable` when full)"),
    SERVEML_MAX_REQUEST_SIZE(size("16MB"), "largest predict/infer body (413 above)"),
    SERVEML_MAX_RESPONSE_SIZE(size("64MB").check(v -> ConfigLoader.parseSize(v) > (1L << 30)
                    ? "must be at most 1GB (an answer is encoded in memory)" : null),
            "largest encoded predict/infer answer (at most `1GB`); above it: 500 `output-too-large`, refused before "
                    + "encoding when even its smallest encoding is larger (an empty `[10^12, 0]` output nests 10^12 "
                    + "`[]`). Large answers are encoded off the event loop"),
    // 2^27: the largest count whose 8-byte elements still fit one Java buffer
    SERVEML_MAX_OUTPUT_ELEMENTS(integer("16777216", 1, 1 << 27),
            "most elements one model answer may hold, all outputs together (at most 2^27); above it: 500 "
                    + "`output-too-large`, before the answer is copied out of ONNX Runtime"),
    SERVEML_DATABASE_URL(string("").doc("(embedded)").check(v -> v.startsWith("jdbc:postgresql:") ? null
                    : "must be a PostgreSQL JDBC URL (jdbc:postgresql://host:port/db), got '" + DatabaseConfig.redact(v) + "'")
            .asSecret(), "`jdbc:postgresql://host:port/db` of an external PostgreSQL (listed with its password masked)"),
    SERVEML_DATABASE_USER(string("serveml"), "user for the external database"),
    SERVEML_DATABASE_PASSWORD(string("").doc("empty").asSecret(), "password for the external database"),
    SERVEML_DATABASE_POOL_SIZE(integer("8", 1, 200), "most JDBC connections"),
    SERVEML_DATABASE_CONNECT_TIMEOUT(duration("2s", false),
            "longest a request waits for a database connection before it is answered 503 `database-unavailable` "
                    + "(with `Retry-After`)"),
    SERVEML_DATABASE_SOCKET_TIMEOUT(duration("30s", false),
            "longest one statement waits for the database's answer (a hung database or a partition); then 503 "
                    + "`database-unavailable`"),
    SERVEML_DATABASE_EMBEDDED_BINARIES(path("").doc("`<data dir>/postgres/bin`"),
            "folder the embedded PostgreSQL's programs are unpacked into (once, under a lock); several data "
                    + "directories may share one, and a folder unpacked beforehand may be read-only"),
    SERVEML_ONNX_INTRA_OP_THREADS(integer("1", 1, 256), "ONNX Runtime threads per call"),
    SERVEML_INFERENCE_THREADS(integer(cores -> cores + 1, "cores + 1", 1, 512), "threads running model calls; "
            + "model loads run on as many threads of their own, so a slow load never holds one of these"),
    SERVEML_GENERATION_MAX_SEQUENCES(integer("16", 1, 256), "sequences a text-generation model steps through "
            + "each model call together (continuous batching: they join and leave between tokens); more wait their "
            + "turn, and 1 generates one at a time"),
    SERVEML_HTTP_EVENT_LOOPS(integer(cores -> cores, "cores", 1, 256), "Vert.x event-loop threads"),
    SERVEML_WORKER_THREADS(integer(cores -> Math.max(8, cores * 4), "4 × cores (at least 8)", 1, 1024),
            "Vert.x threads for blocking work"),
    SERVEML_AUTH(choice("on", "off"), "`off` runs single-user without credentials"),
    SERVEML_ADMIN_PASSWORD(string("").doc("generated, printed once").asSecret(), "the first admin's password"),
    SERVEML_MIN_PASSWORD_LENGTH(integer("10", 8, 1024), "shortest password an account may have"),
    SERVEML_BCRYPT_COST(integer("12", 4, 31), "bcrypt work factor of password hashes"),
    SERVEML_REGISTRATION(choice("open", "closed"), "`closed` stops self-registration"),
    SERVEML_JWT_SECRET(string("").doc("generated under the data dir").asSecret().check(v -> v.length() >= 32 ? null
                    : "must be at least 32 characters (HS256 needs 256 bits)"),
            "HS256 secret (share it between replicas)"),
    SERVEML_ACCESS_TOKEN_TTL(duration("15m", false), "access token lifetime"),
    SERVEML_REFRESH_TOKEN_TTL(duration("168h", false), "refresh token lifetime"),
    SERVEML_AUTH_CACHE_TTL(duration("30s", false),
            "how long a verified key or account is trusted before it is read again (a revocation on another replica "
                    + "takes effect within it)"),
    SERVEML_AUTH_OUTAGE_GRACE(duration("15m", true),
            "while the database cannot be reached, credentials verified before are trusted this much longer, so "
                    + "loaded models keep serving their callers (revocations made on this server still apply)"),
    SERVEML_RATE_LIMIT(integer("60000", 1, Integer.MAX_VALUE), "requests per minute per key or user"),
    SERVEML_ANONYMOUS_RATE_LIMIT(integer("600", 1, Integer.MAX_VALUE), "requests per minute per anonymous address"),
    SERVEML_AUTH_RATE_LIMIT(integer("20", 1, Integer.MAX_VALUE),
            "register, login and refresh requests per minute per client address (an IPv6 /64 counts as one)"),
    SERVEML_BCRYPT_CONCURRENCY(integer(cores -> Math.max(1, cores / 2), "cores / 2 (at least 1)", 1, 256),
            "passwords hashed at once; twice as many may wait, more get 503"),
    SERVEML_REDIS_URL(string("").doc("(none)").asSecret().check(v -> v.startsWith("redis://") || v.startsWith("rediss://")
                    ? null : "must look like redis://host:port"),
            "shared rate-limit buckets and the shared response cache (L2), e.g. `redis://127.0.0.1:6379` "
                    + "(listed with its password masked)"),
    SERVEML_CACHE(choice("on", "off"),
            "answer identical requests to the same version from the response cache (`X-Cache: hit`; "
                    + "`Cache-Control: no-cache` asks for a fresh answer); per model: `PATCH /api/v1/models/{name}` "
                    + "with `{\"cache\": {\"enabled\": false}}`"),
    SERVEML_CACHE_TTL(duration("5m", false),
            "how long a cached answer lives (per model: `{\"cache\": {\"ttl_seconds\": 60}}`)"),
    SERVEML_CACHE_MAX_ENTRIES(integer("10000", 1, 100_000_000), "answers kept in process (L1) at most"),
    SERVEML_CORS_ORIGINS(list("").doc("(none)"), "comma-separated allowed origins"),
    SERVEML_CORS_METHODS(list("GET,POST,PUT,PATCH,DELETE,OPTIONS"), "comma-separated methods allowed by CORS"),
    SERVEML_CORS_HEADERS(list("Authorization,Content-Type,X-API-Key,X-Request-Id,X-Request-Timeout,"
            + "Inference-Header-Content-Length"), "comma-separated request headers allowed by CORS"),
    SERVEML_PYTHON(path("/usr/bin/python3"), "interpreter that runs Python workers and creates virtualenvs"),
    SERVEML_PYTHON_WORKERS(integer("1", 1, 64), "workers per Python model version"),
    SERVEML_PYTHON_SANDBOX(choice("bwrap", "off"),
            "`off` runs workers unsandboxed (single-user machines only; logged)"),
    SERVEML_PYTHON_MEMORY_LIMIT(size("4GB"), "address-space limit per worker"),
    SERVEML_PYTHON_TIMEOUT(duration("30s", false), "longest one prediction may take before its worker is replaced (504)"),
    SERVEML_PYTHON_IDLE_TIMEOUT(duration("15m", true), "workers of a version idle this long are stopped (`0` keeps them)"),
    SERVEML_PYTHON_START_TIMEOUT(duration("120s", false), "longest a worker may take to start and load its model"),
    SERVEML_PYTHON_MAX_FRAME(size("64MB").check(v -> ConfigLoader.parseSize(v) > Integer.MAX_VALUE - 8
            ? "must be below 2GB" : null), "largest worker protocol frame either side accepts"),
    SERVEML_PIP_INDEX_URL(string("").doc("(none: `--no-index`, no network)").asSecret()
                    .check(v -> v.matches("(?i)https?://[^\\s]+") ? null
                            : "must be an http(s) URL such as https://pypi.org/simple"),
            "the package index pip may use for requirements; the pip sandbox then has network (listed with its "
                    + "password masked)"),
    SERVEML_PIP_WHEELHOUSE(path("").doc("(none)").check(v -> isDirectory(v) ? null : "not a directory: '" + v + "'"),
            "a directory of wheels pip installs from (`--find-links`, read-only)"),
    SERVEML_PIP_ONLY_BINARY(bool("true"),
            "`--only-binary :all:`: no `setup.py` ever runs; `false` lets sdists build (in the sandbox)"),
    SERVEML_PIP_ALLOW_DIRECT_REFERENCES(bool("false"),
            "`true` accepts requirement lines that are URLs, VCS references, paths or `name @ url` (never pip options)"),
    SERVEML_PIP_TIMEOUT(duration("300s", false), "longest pip run"),
    SERVEML_PIP_ENV_RETENTION(duration("168h", true), "virtualenvs unused this long are removed (`0` keeps them)"),
    SERVEML_HF_ENDPOINT(string(HubConfig.DEFAULT_ENDPOINT).doc("`HF_ENDPOINT`, else `" + HubConfig.DEFAULT_ENDPOINT + "`")
                    .check(v -> v.matches("(?i)https?://[^\\s/?#@]+(/[^\\s?#@]*)?") ? null
                            : "must be an http(s) URL without credentials, query or fragment, such as "
                            + HubConfig.DEFAULT_ENDPOINT),
            "the Hugging Face Hub that `hf://` model sources are read from"),
    SERVEML_HF_TOKEN(string("").doc("(none)").asSecret(),
            "Hugging Face token for gated and private repositories, used for administrators' imports only (other "
                    + "users send their own in `X-HF-Token`); sent only to the Hub's own host, never to a download "
                    + "redirect elsewhere, never logged (`HF_TOKEN` is not read: every tenant would borrow it)"),
    SERVEML_HF_CACHE(path("").doc("`HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`"),
            "the Hugging Face cache, in its standard layout (`models--org--name/{blobs,refs,snapshots}`), so a cache "
                    + "filled by `huggingface-cli` is reused"),
    SERVEML_HF_OFFLINE(bool("false").doc("`HF_HUB_OFFLINE` (`1`/`true`/`on`/`yes`), else `false`"),
            "`true`: Hub sources are resolved from the cache alone and no connection is ever opened"),
    SERVEML_HF_TIMEOUT(duration("30s", false),
            "longest the Hub may take to connect or answer, and a download may stall, before it is retried"),
    SERVEML_MAX_BATCH_SIZE(integer("1", 1, 4096).doc("`1` (off)"),
            "most rows one model call takes from concurrent requests (dynamic batching)"),
    SERVEML_MAX_QUEUE_DELAY(duration("2ms", true), "longest the oldest queued request waits for others to join its batch"),
    SERVEML_BATCH_BY_LENGTH(bool("true"), "`false`: texts of any length share a batch (fewer, larger calls, "
            + "short texts padded to the longest); `true` batches texts of similar length together"),
    SERVEML_QUEUE_CAPACITY(integer("256", 1, 1_000_000), "requests one version may hold queued; more get 503"),
    SERVEML_REQUEST_TIMEOUT(duration("30s", false), "default deadline (`X-Request-Timeout` header per request, ms)"),
    SERVEML_MODEL_MEMORY(size("4GB"), "memory budget of loaded models"),
    SERVEML_MODEL_IDLE_UNLOAD(duration("0", true).doc("`0` (never)"), "idle unload of loaded models"),
    SERVEML_JOB_WORKERS(integer("2", 1, 64),
            "threads per server that split batch jobs' input files and score their chunks (platform threads)"),
    SERVEML_JOB_SHARE(integer("50", 1, 100),
            "percent of a model's instances (`SERVEML_INFERENCE_THREADS`) that batch jobs may keep busy at once (at "
                    + "least one); online requests go first in the model's queue"),
    SERVEML_JOB_LEASE(duration("15s", false),
            "how long a batch job's chunk stays claimed by a worker that stopped renewing it (a killed server) "
                    + "before another worker, here or on another replica, takes it over"),
    SERVEML_JOB_RETENTION(duration("7d", false),
            "how long a finished job's result and errors (and an uploaded input file) are kept before they are "
                    + "removed"),
    SERVEML_JAVA_OPTS(script("`-Xmx512m`"),
            "JVM options used by `scripts/run`; without an `-Xmx` of their own the 512 MB heap cap is added"),
    SERVEML_JAVA_HOME(script("(found under `/usr/lib/jvm`)"), "the JDK 21+ that the scripts use");

    /**
     * {@code SERVEML_*} names that scripts and tests use among themselves and the server never reads
     * ({@code scripts/env.sh} exports {@code SERVEML_ROOT}, failsafe sets {@code SERVEML_REPO_ROOT},
     * {@code .ci/run} sets {@code SERVEML_REQUIRE_ALL}, {@code bench/} reads {@code SERVEML_SHARED}, the
     * dashboard's snippets read {@code SERVEML_API_KEY}): they are not reported as unknown.
     */
    /**
     * Variables outside {@code SERVEML_*} that Python workers are handed unchanged: some processors
     * need them for OpenBLAS to compute correctly. The loader reads them into {@link PythonConfig}.
     */
    public static final List<String> WORKER_PASS_THROUGH = List.of("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE");

    /**
     * Hugging Face's own variables, read (never required) as the defaults of the {@code SERVEML_HF_*}
     * keys so that a machine already set up for {@code huggingface-cli} works unchanged; {@code HOME}
     * places the default cache. The loader reads them into {@link HubConfig}.
     */
    public static final List<String> HUB_FALLBACKS = List.of("HF_ENDPOINT", "HF_HUB_CACHE", "HF_HOME", "HF_HUB_OFFLINE",
            "HOME");

    public static final Set<String> NOT_SERVER = Set.of("SERVEML_ROOT", "SERVEML_REPO_ROOT", "SERVEML_REQUIRE_ALL",
            "SERVEML_SHARED", "SERVEML_API_KEY");

    /** What a value must look like. */
    public enum Type { STRING, INT, SIZE, DURATION, PATH, CHOICE, LIST, BOOLEAN, SCRIPT }

    /**
     * How one key is read.
     *
     * @param fallback    the value used when the key is unset or blank (for {@code perCores}, none)
     * @param perCores    for integers whose default follows the processor count
     * @param defaultDoc  the README's default column
     * @param check       a further check of a set, non-empty value: the problem, or null when fine
     */
    record Spec(Type type, String fallback, IntUnaryOperator perCores, String defaultDoc, long min, long max,
                boolean zeroAllowed, List<String> choices, boolean secret, Function<String, String> check) {
        Spec doc(String text) {
            return new Spec(type, fallback, perCores, text, min, max, zeroAllowed, choices, secret, check);
        }

        Spec asSecret() {
            return new Spec(type, fallback, perCores, defaultDoc, min, max, zeroAllowed, choices, true, check);
        }

        Spec check(Function<String, String> test) {
            return new Spec(type, fallback, perCores, defaultDoc, min, max, zeroAllowed, choices, secret, test);
        }
    }

    private final Spec spec;
    private final String doc;

    Setting(Spec spec, String doc) {
        this.spec = spec;
        this.doc = doc;
    }

    private static Spec of(Type type, String fallback) {
        return new Spec(type, fallback, null, fallback.isEmpty() ? "(none)" : "`" + fallback + "`", 0, 0, false,
                List.of(), false, v -> null);
    }

    private static Spec string(String fallback) {
        return of(Type.STRING, fallback);
    }

    private static Spec path(String fallback) {
        return of(Type.PATH, fallback);
    }

    private static Spec size(String fallback) {
        return of(Type.SIZE, fallback);
    }

    private static Spec list(String fallback) {
        return of(Type.LIST, fallback);
    }

    private static Spec bool(String fallback) {
        return of(Type.BOOLEAN, fallback);
    }

    private static Spec script(String defaultDoc) {
        return of(Type.SCRIPT, "").doc(defaultDoc);
    }

    private static Spec integer(String fallback, long min, long max) {
        Spec s = of(Type.INT, fallback);
        return new Spec(s.type(), fallback, null, s.defaultDoc(), min, max, false, List.of(), false, s.check());
    }

    private static Spec integer(IntUnaryOperator perCores, String defaultDoc, long min, long max) {
        return new Spec(Type.INT, null, perCores, defaultDoc, min, max, false, List.of(), false, v -> null);
    }

    private static Spec duration(String fallback, boolean zeroAllowed) {
        Spec s = of(Type.DURATION, fallback);
        return new Spec(s.type(), fallback, null, s.defaultDoc(), 0, 0, zeroAllowed, List.of(), false, s.check());
    }

    /** The first choice is the default. */
    private static Spec choice(String... choices) {
        Spec s = of(Type.CHOICE, choices[0]);
        return new Spec(s.type(), choices[0], null, s.defaultDoc(), 0, 0, false, List.of(choices), false, s.check());
    }

    private static boolean isDirectory(String value) {
        try {
            return Files.isDirectory(Path.of(value));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    Spec spec() {
        return spec;
    }

    public Type type() {
        return spec.type();
    }

    public boolean secret() {
        return spec.secret();
    }

    /** One line of documentation, in Markdown. */
    public String doc() {
        return doc;
    }

    /**
     * How the listing prints a value: a secret as {@code ***} (empty stays empty), except that a URL
     * keeps all but its password so an operator can still see where it points.
     */
    public String masked(String value) {
        if (!spec.secret() || value.isEmpty()) {
            return value;
        }
        return value.contains("://") ? DatabaseConfig.redact(value).replaceAll("//[^@/]*@", "//***@") : "***";
    }

    /** Read by the scripts that start the server, not by the server itself. */
    public boolean forScripts() {
        return spec.type() == Type.SCRIPT;
    }

    /** The value the loader uses when the key is unset, on a machine with this many processors. */
    String fallback(int cores) {
        return spec.perCores() == null ? spec.fallback() : Integer.toString(spec.perCores().applyAsInt(cores));
    }

    /** The known key nearest to {@code name} by edit distance. */
    public static Setting nearest(String name) {
        Setting best = SERVEML_CONFIG_FILE;
        int bestDistance = Integer.MAX_VALUE;
        for (Setting s : values()) {
            int d = distance(name, s.name());
            if (d < bestDistance) {
                best = s;
                bestDistance = d;
            }
        }
        return best;
    }

    /** Levenshtein distance, two rows at a time. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    /**
     * The README's Configuration table, one row per key. Regenerate it with
     * {@code java -cp server/target/classes dev.serveml.config.Setting} (or run
     * {@code ConfigDocumentedTest}, whose failure prints it).
     */
    public static String markdownTable() {
        return "| variable | default | meaning |\n|---|---|---|\n" + Arrays.stream(values())
                .map(s -> "| `" + s.name() + "` | " + s.spec.defaultDoc() + " | " + s.doc + " |\n")
                .collect(Collectors.joining());
    }

    public static void main(String[] args) {
        System.out.print(markdownTable());
    }

    static Optional<Setting> named(String name) {
        return Arrays.stream(values()).filter(s -> s.name().equals(name)).findFirst();
    }
}
