package dev.serveml.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds {@link ServemlConfig} from, in rising precedence: built-in defaults, the properties file
 * named by {@code SERVEML_CONFIG_FILE} (keys written as the environment variables are), and the
 * {@code SERVEML_*} environment. Every key is defined once here with its default and check; all
 * problems are collected and thrown together.
 */
public final class ConfigLoader {
    private static final Pattern DURATION = Pattern.compile("(?i)\\s*(\\d{1,12})\\s*(ms|s|m|h)\\s*");
    private static final Pattern SIZE = Pattern.compile("(?i)\\s*(\\d+)\\s*([kmgt]?i?b?)?\\s*");

    private final Map<String, String> source;
    private final List<String> problems = new ArrayList<>();

    private ConfigLoader(Map<String, String> source) {
        this.source = source;
    }

    /** Loads from the process environment (and the file it may name). */
    public static ServemlConfig fromEnvironment() {
        return load(System.getenv());
    }

    /** Loads from the given variables, as if they were the environment. */
    public static ServemlConfig load(Map<String, String> env) {
        Map<String, String> merged = new HashMap<>();
        List<String> fileProblems = new ArrayList<>();
        String file = env.get("SERVEML_CONFIG_FILE");
        if (file != null && !file.isBlank()) {
            try (Reader reader = Files.newBufferedReader(Path.of(file))) {
                Properties properties = new Properties();
                properties.load(reader);
                properties.forEach((k, v) -> merged.put(k.toString().trim(), v.toString().trim()));
            } catch (IOException | InvalidPathException e) {
                fileProblems.add("SERVEML_CONFIG_FILE: cannot read '" + file + "': " + e.getMessage());
            }
        }
        env.forEach((k, v) -> {
            if (k.startsWith("SERVEML_")) {
                merged.put(k, v);
            }
        });
        ConfigLoader loader = new ConfigLoader(merged);
        loader.problems.addAll(fileProblems);
        return loader.build();
    }

    private ServemlConfig build() {
        int cores = Runtime.getRuntime().availableProcessors();
        String authMode = string("SERVEML_AUTH", "on");
        HttpConfig http = new HttpConfig(
                // Without authentication every caller is the admin: only this machine may call,
                // unless the listener is chosen on purpose.
                string("SERVEML_HTTP_HOST", authMode.equals("off") ? "127.0.0.1" : "0.0.0.0"),
                integer("SERVEML_HTTP_PORT", 8080, 0, 65535),
                size("SERVEML_MAX_REQUEST_SIZE", "16MB"),
                integer("SERVEML_HTTP_EVENT_LOOPS", cores, 1, 256),
                integer("SERVEML_WORKER_THREADS", Math.max(8, cores * 4), 1, 1024),
                size("SERVEML_MAX_RESPONSE_SIZE", "64MB"),
                duration("SERVEML_HTTP_HEADER_TIMEOUT", "10s", false),
                duration("SERVEML_HTTP_IDLE_TIMEOUT", "75s", false),
                integer("SERVEML_HTTP_MAX_CONNECTIONS", 10_000, 1, 1_000_000),
                duration("SERVEML_SHUTDOWN_TIMEOUT", "30s", true),
                optionalPath("SERVEML_PORT_FILE"));
        if (http.maxResponseBytes() > (1L << 30)) {
            problems.add("SERVEML_MAX_RESPONSE_SIZE: must be at most 1GB (an answer is encoded in memory)");
        }
        StorageConfig storage = new StorageConfig(
                path("SERVEML_DATA_DIR", "./serveml-data"),
                size("SERVEML_MAX_UPLOAD_SIZE", "1GB"),
                size("SERVEML_STORAGE_QUOTA_PER_USER", "10GB"),
                integer("SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER", 2, 1, 1024),
                integer("SERVEML_UPLOAD_THREADS", Math.max(2, cores), 1, 256),
                integer("SERVEML_UPLOAD_QUEUE", 64, 0, 100_000));
        String url = string("SERVEML_DATABASE_URL", "");
        if (!url.isEmpty() && !url.startsWith("jdbc:postgresql:")) {
            problems.add("SERVEML_DATABASE_URL: must be a PostgreSQL JDBC URL (jdbc:postgresql://host:port/db), got '"
                    + DatabaseConfig.redact(url) + "'");
        }
        DatabaseConfig database = new DatabaseConfig(
                url.isEmpty() ? Optional.empty() : Optional.of(url),
                string("SERVEML_DATABASE_USER", "serveml"),
                string("SERVEML_DATABASE_PASSWORD", ""),
                integer("SERVEML_DATABASE_POOL_SIZE", 8, 1, 200),
                duration("SERVEML_DATABASE_CONNECT_TIMEOUT", "2s", false),
                duration("SERVEML_DATABASE_SOCKET_TIMEOUT", "30s", false));
        RuntimeConfig runtime = new RuntimeConfig(integer("SERVEML_ONNX_INTRA_OP_THREADS", 1, 1, 256),
                integer("SERVEML_INFERENCE_THREADS", cores + 1, 1, 512),
                // 2^27: the largest count whose 8-byte elements still fit one Java buffer
                integer("SERVEML_MAX_OUTPUT_ELEMENTS", 16 * 1024 * 1024, 1, 1 << 27));
        String sandbox = string("SERVEML_PYTHON_SANDBOX", "bwrap");
        if (!sandbox.equals("bwrap") && !sandbox.equals("off")) {
            problems.add("SERVEML_PYTHON_SANDBOX: must be 'bwrap' or 'off', got '" + sandbox + "'");
        }
        long maxFrame = size("SERVEML_PYTHON_MAX_FRAME", "64MB");
        if (maxFrame > Integer.MAX_VALUE - 8) {
            problems.add("SERVEML_PYTHON_MAX_FRAME: must be below 2GB");
        }
        String index = string("SERVEML_PIP_INDEX_URL", "");
        if (!index.isEmpty() && !index.matches("(?i)https?://[^\\s]+")) {
            problems.add("SERVEML_PIP_INDEX_URL: must be an http(s) URL such as https://pypi.org/simple");
        }
        String wheelhouse = string("SERVEML_PIP_WHEELHOUSE", "");
        Optional<Path> wheels = wheelhouse.isEmpty() ? Optional.empty() : Optional.of(path("SERVEML_PIP_WHEELHOUSE", ""));
        if (wheels.isPresent() && !Files.isDirectory(wheels.get())) {
            problems.add("SERVEML_PIP_WHEELHOUSE: not a directory: '" + wheelhouse + "'");
        }
        PipConfig pip = new PipConfig(duration("SERVEML_PIP_TIMEOUT", "300s", false),
                index.isEmpty() ? Optional.empty() : Optional.of(index), wheels,
                bool("SERVEML_PIP_ONLY_BINARY", true),
                bool("SERVEML_PIP_ALLOW_DIRECT_REFERENCES", false),
                duration("SERVEML_PIP_ENV_RETENTION", "168h", true));
        PythonConfig python = new PythonConfig(
                path("SERVEML_PYTHON", "/usr/bin/python3"),
                integer("SERVEML_PYTHON_WORKERS", 1, 1, 64),
                sandbox,
                size("SERVEML_PYTHON_MEMORY_LIMIT", "4GB"),
                duration("SERVEML_PYTHON_TIMEOUT", "30s", false),
                duration("SERVEML_PYTHON_IDLE_TIMEOUT", "15m", true),
                duration("SERVEML_PYTHON_START_TIMEOUT", "120s", false),
                pip,
                (int) Math.min(maxFrame, Integer.MAX_VALUE - 8),
                storage.dataDir().resolve("python").resolve("envs"),
                storage.dataDir().resolve("python").resolve("worker"));
        if (!authMode.equals("on") && !authMode.equals("off")) {
            problems.add("SERVEML_AUTH: must be 'on' or 'off', got '" + authMode + "'");
        }
        String jwtSecret = string("SERVEML_JWT_SECRET", "");
        if (!jwtSecret.isEmpty() && jwtSecret.length() < 32) {
            problems.add("SERVEML_JWT_SECRET: must be at least 32 characters (HS256 needs 256 bits)");
        }
        String registration = string("SERVEML_REGISTRATION", "open");
        if (!registration.equals("open") && !registration.equals("closed")) {
            problems.add("SERVEML_REGISTRATION: must be 'open' or 'closed', got '" + registration + "'");
        }
        String redis = string("SERVEML_REDIS_URL", "");
        if (!redis.isEmpty() && !redis.startsWith("redis://") && !redis.startsWith("rediss://")) {
            problems.add("SERVEML_REDIS_URL: must look like redis://host:port");
        }
        AuthConfig auth = new AuthConfig(authMode.equals("on"), jwtSecret,
                duration("SERVEML_ACCESS_TOKEN_TTL", "15m", false),
                duration("SERVEML_REFRESH_TOKEN_TTL", "168h", false),
                string("SERVEML_ADMIN_PASSWORD", ""),
                registration.equals("open"),
                integer("SERVEML_BCRYPT_COST", 12, 4, 31),
                integer("SERVEML_MIN_PASSWORD_LENGTH", 10, 8, 1024),
                integer("SERVEML_RATE_LIMIT", 60_000, 1, Integer.MAX_VALUE),
                integer("SERVEML_ANONYMOUS_RATE_LIMIT", 600, 1, Integer.MAX_VALUE),
                redis.isEmpty() ? Optional.empty() : Optional.of(redis),
                list("SERVEML_CORS_ORIGINS", ""),
                list("SERVEML_CORS_METHODS", "GET,POST,PUT,PATCH,DELETE,OPTIONS"),
                list("SERVEML_CORS_HEADERS", "Authorization,Content-Type,X-API-Key,X-Request-Id,X-Request-Timeout,"
                        + "Inference-Header-Content-Length"),
                integer("SERVEML_AUTH_RATE_LIMIT", 20, 1, Integer.MAX_VALUE),
                integer("SERVEML_BCRYPT_CONCURRENCY", Math.max(1, cores / 2), 1, 256),
                duration("SERVEML_AUTH_CACHE_TTL", "30s", false),
                duration("SERVEML_AUTH_OUTAGE_GRACE", "15m", true));
        if (auth.enabled() && !auth.adminPassword().isEmpty() && auth.adminPassword().length() < auth.minPasswordLength()) {
            problems.add("SERVEML_ADMIN_PASSWORD: must be at least " + auth.minPasswordLength() + " characters");
        }
        if (auth.adminPassword().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 72) {
            problems.add("SERVEML_ADMIN_PASSWORD: must be at most 72 bytes in UTF-8 (bcrypt reads no more)");
        }
        BatchingConfig batching = new BatchingConfig(
                integer("SERVEML_MAX_BATCH_SIZE", 1, 1, 4096),
                duration("SERVEML_MAX_QUEUE_DELAY", "2ms", true),
                integer("SERVEML_QUEUE_CAPACITY", 256, 1, 1_000_000),
                duration("SERVEML_REQUEST_TIMEOUT", "30s", false));
        HostingConfig hosting = new HostingConfig(
                size("SERVEML_MODEL_MEMORY", "4GB"),
                duration("SERVEML_MODEL_IDLE_UNLOAD", "0", true));
        String cacheMode = string("SERVEML_CACHE", "on");
        if (!cacheMode.equals("on") && !cacheMode.equals("off")) {
            problems.add("SERVEML_CACHE: must be 'on' or 'off', got '" + cacheMode + "'");
        }
        CacheConfig cache = new CacheConfig(cacheMode.equals("on"),
                duration("SERVEML_CACHE_TTL", "5m", false),
                integer("SERVEML_CACHE_MAX_ENTRIES", 10_000, 1, 100_000_000));
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new ServemlConfig(http, storage, database, runtime, python, batching, hosting, auth, cache);
    }

    private String string(String key, String fallback) {
        String value = source.get(key);
        return value == null ? fallback : value.trim();
    }

    private java.util.List<String> list(String key, String fallback) {
        return java.util.Arrays.stream(string(key, fallback).split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .toList();
    }

    private boolean bool(String key, boolean fallback) {
        String value = string(key, Boolean.toString(fallback)).toLowerCase(Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            problems.add(key + ": must be 'true' or 'false', got '" + value + "'");
            return fallback;
        }
        return value.equals("true");
    }

    private int integer(String key, int fallback, int min, int max) {
        String value = source.get(key);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed < min || parsed > max) {
                problems.add(key + ": must be between " + min + " and " + max + ", got " + parsed);
                return fallback;
            }
            return parsed;
        } catch (NumberFormatException e) {
            problems.add(key + ": must be a whole number, got '" + value + "'");
            return fallback;
        }
    }

    private Path path(String key, String fallback) {
        String value = string(key, fallback);
        try {
            return Path.of(value.isEmpty() ? fallback : value).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            problems.add(key + ": not a valid path: '" + value + "'");
            return Path.of(fallback).toAbsolutePath().normalize();
        }
    }

    private Optional<Path> optionalPath(String key) {
        String value = string(key, "");
        return value.isEmpty() ? Optional.empty() : Optional.of(path(key, value));
    }

    private long size(String key, String fallback) {
        String value = string(key, fallback);
        long parsed = parseSize(value);
        if (parsed <= 0) {
            problems.add(key + ": must be a positive size such as 512KB, 100MB or 2GB, got '" + value + "'");
            return parseSize(fallback);
        }
        return parsed;
    }

    private Duration duration(String key, String fallback, boolean zeroAllowed) {
        String value = string(key, fallback);
        Duration parsed = parseDuration(value);
        if (parsed == null || parsed.isNegative() || (!zeroAllowed && parsed.isZero())) {
            problems.add(key + ": must be a " + (zeroAllowed ? "" : "positive ") + "duration such as 500ms, 30s, "
                    + "15m or 2h, got '" + value + "'");
            return parseDuration(fallback);
        }
        return parsed;
    }

    /** Parses {@code 500ms}, {@code 30s}, {@code 15m}, {@code 2h}, {@code 0}, or ISO-8601 ({@code PT30S}); null if not a duration. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text);
        if (text.trim().equals("0")) {
            return Duration.ZERO;
        }
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> null;
            };
        }
        try {
            return Duration.parse(text.trim());
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    /**
     * Parses {@code 1024}, {@code 10KB}, {@code 10KiB}, {@code 5m}, {@code 2GB} (binary multiples).
     *
     * @return bytes, or -1 when the text is not a size
     */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            return -1;
        }
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
        String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
        int shift = switch (unit.isEmpty() ? ' ' : unit.charAt(0)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        if (shift == 0 && !unit.isEmpty() && !unit.equals("b")) {
            return -1;
        }
        if (number > (Long.MAX_VALUE >> shift)) {
            return -1;
        }
        return number << shift;
    }
}
