package dev.serveml.config;

import static dev.serveml.config.Setting.*;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds {@link ServemlConfig} from, in rising precedence: built-in defaults, the properties file
 * named by {@code SERVEML_CONFIG_FILE} (keys written as the environment variables are), and the
 * {@code SERVEML_*} environment. Every key is defined once, in the {@link Setting} catalogue, and
 * read only through it; a {@code SERVEML_*} name the catalogue does not know (a typo, mostly) is a
 * problem that names the nearest known key. All problems are collected and thrown together.
 */
public final class ConfigLoader {
    private static final Pattern DURATION = Pattern.compile("(?i)\\s*(\\d{1,12})\\s*(ms|s|m|h|d)\\s*");
    private static final Pattern SIZE = Pattern.compile("(?i)\\s*(\\d+)\\s*([kmgt]?i?b?)?\\s*");

    private final Map<String, String> source;
    private final int cores = Runtime.getRuntime().availableProcessors();
    private final List<String> problems = new ArrayList<>();
    /** What each key resolved to, as text, for the {@code config} listing. */
    private final Map<Setting, String> effective = new EnumMap<>(Setting.class);

    private ConfigLoader(Map<String, String> source) {
        this.source = source;
    }

    /** Loads from the process environment (and the file it may name). */
    public static ServemlConfig fromEnvironment() {
        return load(System.getenv());
    }

    /** Loads from the given variables, as if they were the environment. */
    public static ServemlConfig load(Map<String, String> env) {
        return loader(env).build();
    }

    /**
     * {@code java -jar serveml.jar config}: every server key with the value it takes from the process
     * environment, one {@code KEY=value} a line, secrets masked.
     *
     * @throws ConfigException as a start would
     */
    public static List<String> listEnvironment() {
        return list(System.getenv());
    }

    /** The listing for the given variables, as if they were the environment. */
    public static List<String> list(Map<String, String> env) {
        ConfigLoader loader = loader(env);
        loader.build();
        List<String> lines = new ArrayList<>();
        for (Setting setting : Setting.values()) {
            if (!setting.forScripts()) {
                String value = loader.effective.getOrDefault(setting, setting.fallback(loader.cores));
                lines.add(setting.name() + "=" + setting.masked(value));
            }
        }
        return lines;
    }

    private static ConfigLoader loader(Map<String, String> env) {
        Map<String, String> merged = new HashMap<>();
        List<String> early = new ArrayList<>();
        String file = env.get(Setting.SERVEML_CONFIG_FILE.name());
        if (file != null && !file.isBlank()) {
            try (Reader reader = Files.newBufferedReader(Path.of(file))) {
                Properties properties = new Properties();
                properties.load(reader);
                properties.forEach((k, v) -> merged.put(k.toString().trim(), v.toString().trim()));
            } catch (IOException | InvalidPathException e) {
                early.add("SERVEML_CONFIG_FILE: cannot read '" + file + "': " + e.getMessage());
            }
            merged.keySet().stream().filter(k -> Setting.named(k).isEmpty()).sorted()
                    .forEach(k -> early.add(unknown(k) + " (in " + file + ")"));
        }
        env.keySet().stream().filter(k -> k.startsWith("SERVEML_") && Setting.named(k).isEmpty()
                && !Setting.NOT_SERVER.contains(k)).sorted().forEach(k -> early.add(unknown(k)));
        env.forEach((k, v) -> {
            if (k.startsWith("SERVEML_")) {
                merged.put(k, v);
            }
        });
        for (String keep : Setting.HUB_FALLBACKS) {
            Optional.ofNullable(env.get(keep)).ifPresent(v -> merged.put(keep, v));
        }
        for (String keep : Setting.WORKER_PASS_THROUGH) {
            Optional.ofNullable(env.get(keep)).ifPresent(v -> merged.put(keep, v));
        }
        ConfigLoader loader = new ConfigLoader(merged);
        loader.problems.addAll(early);
        return loader;
    }

    private static String unknown(String name) {
        return name + ": unknown setting; did you mean " + Setting.nearest(name).name() + "?";
    }

    private ServemlConfig build() {
        boolean authOn = first(SERVEML_AUTH);
        HttpConfig http = http(authOn);
        StorageConfig storage = storage();
        DatabaseConfig database = database();
        RuntimeConfig runtime = new RuntimeConfig(integer(SERVEML_ONNX_INTRA_OP_THREADS),
                integer(SERVEML_INFERENCE_THREADS),
                integer(SERVEML_MAX_OUTPUT_ELEMENTS), integer(SERVEML_GENERATION_MAX_SEQUENCES));
        PythonConfig python = python(storage.dataDir());
        AuthConfig auth = auth(authOn);
        RedisConfig redis = new RedisConfig(optionalString(SERVEML_REDIS_URL));
        BatchingConfig batching = new BatchingConfig(
                integer(SERVEML_MAX_BATCH_SIZE),
                duration(SERVEML_MAX_QUEUE_DELAY),
                integer(SERVEML_QUEUE_CAPACITY),
                duration(SERVEML_REQUEST_TIMEOUT),
                bool(SERVEML_BATCH_BY_LENGTH));
        HostingConfig hosting = new HostingConfig(
                size(SERVEML_MODEL_MEMORY),
                duration(SERVEML_MODEL_IDLE_UNLOAD));
        CacheConfig cache = new CacheConfig(first(SERVEML_CACHE),
                duration(SERVEML_CACHE_TTL),
                integer(SERVEML_CACHE_MAX_ENTRIES));
        HubConfig hub = hub();
        JobsConfig jobs = new JobsConfig(integer(SERVEML_JOB_WORKERS), integer(SERVEML_JOB_SHARE),
                duration(SERVEML_JOB_LEASE), duration(SERVEML_JOB_RETENTION));
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new ServemlConfig(http, storage, database, runtime, python, batching, hosting, auth, redis, cache, hub, jobs);
    }

    private HttpConfig http(boolean authOn) {
        return new HttpConfig(
                // Without authentication every caller is the admin: only this machine may call,
                // unless the listener is chosen on purpose.
                string(SERVEML_HTTP_HOST, authOn ? "0.0.0.0" : "127.0.0.1"),
                integer(SERVEML_HTTP_PORT),
                size(SERVEML_MAX_REQUEST_SIZE),
                integer(SERVEML_HTTP_EVENT_LOOPS),
                integer(SERVEML_WORKER_THREADS),
                size(SERVEML_MAX_RESPONSE_SIZE),
                duration(SERVEML_HTTP_HEADER_TIMEOUT),
                duration(SERVEML_HTTP_IDLE_TIMEOUT),
                integer(SERVEML_HTTP_MAX_CONNECTIONS),
                duration(SERVEML_SHUTDOWN_TIMEOUT),
                optionalPath(SERVEML_PORT_FILE));
    }

    private StorageConfig storage() {
        return new StorageConfig(
                path(SERVEML_DATA_DIR),
                size(SERVEML_MAX_UPLOAD_SIZE),
                size(SERVEML_STORAGE_QUOTA_PER_USER),
                integer(SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER),
                integer(SERVEML_UPLOAD_THREADS),
                integer(SERVEML_UPLOAD_QUEUE),
                optionalPath(SERVEML_ARTIFACTS_DIR).map(p -> p.toAbsolutePath().normalize()));
    }

    private DatabaseConfig database() {
        return new DatabaseConfig(
                optionalString(SERVEML_DATABASE_URL),
                string(SERVEML_DATABASE_USER),
                string(SERVEML_DATABASE_PASSWORD),
                integer(SERVEML_DATABASE_POOL_SIZE),
                duration(SERVEML_DATABASE_CONNECT_TIMEOUT),
                duration(SERVEML_DATABASE_SOCKET_TIMEOUT),
                optionalPath(SERVEML_DATABASE_EMBEDDED_BINARIES));
    }

    private PythonConfig python(Path dataDir) {
        String sandbox = choice(SERVEML_PYTHON_SANDBOX);
        long maxFrame = size(SERVEML_PYTHON_MAX_FRAME);
        PipConfig pip = new PipConfig(duration(SERVEML_PIP_TIMEOUT),
                optionalString(SERVEML_PIP_INDEX_URL),
                optionalPath(SERVEML_PIP_WHEELHOUSE),
                bool(SERVEML_PIP_ONLY_BINARY),
                bool(SERVEML_PIP_ALLOW_DIRECT_REFERENCES),
                duration(SERVEML_PIP_ENV_RETENTION));
        Map<String, String> passThrough = new TreeMap<>();
        Setting.WORKER_PASS_THROUGH.forEach(k -> Optional.ofNullable(source.get(k)).ifPresent(v -> passThrough.put(k, v)));
        return new PythonConfig(
                path(SERVEML_PYTHON),
                integer(SERVEML_PYTHON_WORKERS),
                sandbox,
                size(SERVEML_PYTHON_MEMORY_LIMIT),
                duration(SERVEML_PYTHON_TIMEOUT),
                duration(SERVEML_PYTHON_IDLE_TIMEOUT),
                duration(SERVEML_PYTHON_START_TIMEOUT),
                pip,
                (int) Math.min(maxFrame, Integer.MAX_VALUE - 8),
                dataDir.resolve("python").resolve("envs"),
                dataDir.resolve("python").resolve("worker"),
                passThrough);
    }

    /** The Hub keys, with Hugging Face's own variables as their defaults, in huggingface_hub's order. */
    private HubConfig hub() {
        String hfEndpoint = source.getOrDefault("HF_ENDPOINT", "").trim();
        String endpoint = string(SERVEML_HF_ENDPOINT, hfEndpoint.isEmpty() ? HubConfig.DEFAULT_ENDPOINT : hfEndpoint);
        if (source.getOrDefault(SERVEML_HF_ENDPOINT.name(), "").isBlank() && !hfEndpoint.isEmpty()) {
            String problem = SERVEML_HF_ENDPOINT.spec().check().apply(hfEndpoint);
            if (problem != null) {
                problems.add("HF_ENDPOINT (the default of SERVEML_HF_ENDPOINT): " + problem);
                endpoint = HubConfig.DEFAULT_ENDPOINT;
            }
        }
        Optional<Path> cache = optionalPath(SERVEML_HF_CACHE);
        if (cache.isEmpty()) {
            effective.put(SERVEML_HF_CACHE, "");
        }
        Path cacheDir = cache.orElseGet(this::hfCacheDefault);
        return new HubConfig(java.net.URI.create(endpoint.replaceAll("/+$", "")), optionalString(SERVEML_HF_TOKEN),
                cacheDir, offline(), duration(SERVEML_HF_TIMEOUT));
    }

    /**
     * SERVEML_HF_OFFLINE, else huggingface_hub's own HF_HUB_OFFLINE read as it reads it ({@code 1},
     * {@code on}, {@code yes}, {@code true}, any case), so that a machine told to stay offline does.
     */
    private boolean offline() {
        String hf = source.getOrDefault("HF_HUB_OFFLINE", "").trim().toLowerCase(Locale.ROOT);
        if (source.getOrDefault(SERVEML_HF_OFFLINE.name(), "").isBlank() && !hf.isEmpty()) {
            return java.util.Set.of("1", "on", "yes", "true").contains(hf);
        }
        return bool(SERVEML_HF_OFFLINE);
    }

    private Path hfCacheDefault() {
        try {
            String hubCache = source.getOrDefault("HF_HUB_CACHE", "").trim();
            if (!hubCache.isEmpty()) {
                return Path.of(hubCache).toAbsolutePath().normalize();
            }
            String home = source.getOrDefault("HF_HOME", "").trim();
            if (!home.isEmpty()) {
                return Path.of(home, "hub").toAbsolutePath().normalize();
            }
            String userHome = source.getOrDefault("HOME", "").trim();
            return Path.of(userHome.isEmpty() ? System.getProperty("user.home") : userHome, ".cache", "huggingface", "hub")
                    .toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            problems.add("HF_HUB_CACHE/HF_HOME: not a valid path (" + e.getMessage() + ")");
            return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
        }
    }

    private AuthConfig auth(boolean authOn) {
        AuthConfig auth = new AuthConfig(authOn,
                string(SERVEML_JWT_SECRET),
                duration(SERVEML_ACCESS_TOKEN_TTL),
                duration(SERVEML_REFRESH_TOKEN_TTL),
                string(SERVEML_ADMIN_PASSWORD),
                first(SERVEML_REGISTRATION),
                integer(SERVEML_BCRYPT_COST),
                integer(SERVEML_MIN_PASSWORD_LENGTH),
                integer(SERVEML_RATE_LIMIT),
                integer(SERVEML_ANONYMOUS_RATE_LIMIT),
                list(SERVEML_CORS_ORIGINS),
                list(SERVEML_CORS_METHODS),
                list(SERVEML_CORS_HEADERS),
                integer(SERVEML_AUTH_RATE_LIMIT),
                integer(SERVEML_BCRYPT_CONCURRENCY),
                duration(SERVEML_AUTH_CACHE_TTL),
                duration(SERVEML_AUTH_OUTAGE_GRACE));
        // The two checks that need another key's value.
        if (auth.enabled() && !auth.adminPassword().isEmpty() && auth.adminPassword().length() < auth.minPasswordLength()) {
            problems.add("SERVEML_ADMIN_PASSWORD: must be at least " + auth.minPasswordLength() + " characters");
        }
        if (auth.adminPassword().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 72) {
            problems.add("SERVEML_ADMIN_PASSWORD: must be at most 72 bytes in UTF-8 (bcrypt reads no more)");
        }
        return auth;
    }

    /** The text of a key as set (trimmed), else its default; a set, non-empty value also passes the key's own check. */
    private String raw(Setting key, String fallback) {
        String value = source.get(key.name());
        String text = value == null ? fallback : value.trim();
        effective.put(key, text);
        if (value != null && !text.isEmpty()) {
            String problem = key.spec().check().apply(text);
            if (problem != null) {
                problems.add(key.name() + ": " + problem);
            }
        }
        return text;
    }

    private String string(Setting key) {
        return string(key, key.fallback(cores));
    }

    private String string(Setting key, String fallback) {
        return raw(key, fallback);
    }

    private Optional<String> optionalString(Setting key) {
        String value = string(key);
        return value.isEmpty() ? Optional.empty() : Optional.of(value);
    }

    /** One of the key's choices; on a bad value, the default. */
    private String choice(Setting key) {
        List<String> choices = key.spec().choices();
        String value = string(key);
        if (!choices.contains(value)) {
            problems.add(key.name() + ": must be " + choices.subList(0, choices.size() - 1).stream()
                    .map(c -> "'" + c + "'").collect(Collectors.joining(", ")) + " or '" + choices.getLast()
                    + "', got '" + value + "'");
            return key.fallback(cores);
        }
        return value;
    }

    /** Whether the key is at its first choice: on/off, open/closed written once. */
    private boolean first(Setting key) {
        return choice(key).equals(key.spec().choices().getFirst());
    }

    private List<String> list(Setting key) {
        return Arrays.stream(string(key).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private boolean bool(Setting key) {
        String value = string(key).toLowerCase(Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            problems.add(key.name() + ": must be 'true' or 'false', got '" + value + "'");
            return Boolean.parseBoolean(key.fallback(cores));
        }
        return value.equals("true");
    }

    private int integer(Setting key) {
        String fallbackText = key.fallback(cores);
        int fallback = Integer.parseInt(fallbackText);
        String value = source.get(key.name());
        if (value == null || value.isBlank()) {
            effective.put(key, fallbackText);
            return fallback;
        }
        effective.put(key, value.trim());
        try {
            int parsed = Integer.parseInt(value.trim());
            if (parsed < key.spec().min() || parsed > key.spec().max()) {
                problems.add(key.name() + ": must be between " + key.spec().min() + " and " + key.spec().max()
                        + ", got " + parsed);
                return fallback;
            }
            return parsed;
        } catch (NumberFormatException e) {
            problems.add(key.name() + ": must be a whole number, got '" + value + "'");
            return fallback;
        }
    }

    private Path path(Setting key) {
        String fallback = key.fallback(cores);
        String value = string(key);
        try {
            return Path.of(value.isEmpty() ? fallback : value).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            problems.add(key.name() + ": not a valid path: '" + value + "'");
            return Path.of(fallback).toAbsolutePath().normalize();
        }
    }

    private Optional<Path> optionalPath(Setting key) {
        String value = source.getOrDefault(key.name(), "").trim();
        return value.isEmpty() ? Optional.empty() : Optional.of(path(key));
    }

    private long size(Setting key) {
        String value = string(key);
        long parsed = parseSize(value);
        if (parsed <= 0) {
            problems.add(key.name() + ": must be a positive size such as 512KB, 100MB or 2GB, got '" + value + "'");
            return parseSize(key.fallback(cores));
        }
        return parsed;
    }

    private Duration duration(Setting key) {
        boolean zeroAllowed = key.spec().zeroAllowed();
        String value = string(key);
        Duration parsed = parseDuration(value);
        if (parsed == null || parsed.isNegative() || (!zeroAllowed && parsed.isZero())) {
            problems.add(key.name() + ": must be a " + (zeroAllowed ? "" : "positive ") + "duration such as 500ms, 30s, "
                    + "15m or 2h, got '" + value + "'");
            return parseDuration(key.fallback(cores));
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
                case "d" -> Duration.ofDays(n);
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
