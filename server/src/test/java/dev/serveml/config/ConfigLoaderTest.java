package dev.serveml.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ConfigLoaderTest {
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    @Test
    void usesTheDefaultsWhenNothingIsSet() {
        ServemlConfig config = ConfigLoader.load(Map.of());

        assertThat(config.http()).isEqualTo(new HttpConfig("0.0.0.0", 8080, 16L << 20, CORES, Math.max(8, CORES * 4),
                64L << 20, Duration.ofSeconds(10), Duration.ofSeconds(75), 10_000, Duration.ofSeconds(30),
                Optional.empty()));
        assertThat(config.storage()).isEqualTo(new StorageConfig(Path.of("serveml-data").toAbsolutePath(), 1L << 30,
                10L << 30, 2, Math.max(2, CORES), 64));
        assertThat(config.storage().dataDir().isAbsolute()).isTrue();
        assertThat(config.database()).isEqualTo(new DatabaseConfig(Optional.empty(), "serveml", "", 8, Duration.ofSeconds(2), Duration.ofSeconds(30), Optional.empty()));
        assertThat(config.database().embedded()).isTrue();
        assertThat(config.runtime()).isEqualTo(new RuntimeConfig(1, CORES + 1, 16 * 1024 * 1024, 16));
        assertThat(config.batching()).isEqualTo(new BatchingConfig(1, Duration.ofMillis(2), 256, Duration.ofSeconds(30)));
        assertThat(config.batching().enabled()).isFalse();
        assertThat(config.hosting()).isEqualTo(new HostingConfig(4L << 30, Duration.ZERO));
    }

    @Test
    void signInsAreLimitedPerAddressAndBcryptWorkIsBoundedByDefault() {
        AuthConfig auth = ConfigLoader.load(Map.of()).auth();
        assertThat(auth.signInPerMinute()).isEqualTo(20);
        assertThat(auth.bcryptConcurrency()).isEqualTo(Math.max(1, CORES / 2));
        AuthConfig set = ConfigLoader.load(Map.of("SERVEML_AUTH_RATE_LIMIT", "5", "SERVEML_BCRYPT_CONCURRENCY", "3")).auth();
        assertThat(set.signInPerMinute()).isEqualTo(5);
        assertThat(set.bcryptConcurrency()).isEqualTo(3);
    }

    @Test
    void anAdminPasswordLongerThanBcryptReadsAndNoSignInBudgetAreConfigErrors() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_AUTH_RATE_LIMIT", "0",
                "SERVEML_BCRYPT_CONCURRENCY", "0",
                "SERVEML_ADMIN_PASSWORD", "x".repeat(73))));

        assertThat(e.problems()).containsExactly(
                "SERVEML_AUTH_RATE_LIMIT: must be between 1 and 2147483647, got 0",
                "SERVEML_BCRYPT_CONCURRENCY: must be between 1 and 256, got 0",
                "SERVEML_ADMIN_PASSWORD: must be at most 72 bytes in UTF-8 (bcrypt reads no more)");
    }

    @Test
    void readsTheSchedulerSettings() {
        ServemlConfig config = ConfigLoader.load(Map.of(
                "SERVEML_MAX_BATCH_SIZE", "64",
                "SERVEML_MAX_QUEUE_DELAY", "5ms",
                "SERVEML_QUEUE_CAPACITY", "1000",
                "SERVEML_REQUEST_TIMEOUT", "2s",
                "SERVEML_MODEL_MEMORY", "512MB",
                "SERVEML_MODEL_IDLE_UNLOAD", "15m"));

        assertThat(config.batching()).isEqualTo(new BatchingConfig(64, Duration.ofMillis(5), 1000, Duration.ofSeconds(2)));
        assertThat(config.hosting()).isEqualTo(new HostingConfig(512L << 20, Duration.ofMinutes(15)));
    }

    @Test
    void aBatchSizeOfZeroAndOtherBadSchedulerSettingsAreConfigErrors() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_MAX_BATCH_SIZE", "0",
                "SERVEML_QUEUE_CAPACITY", "0",
                "SERVEML_REQUEST_TIMEOUT", "0",
                "SERVEML_MODEL_MEMORY", "lots")));

        assertThat(e.problems()).containsExactly(
                "SERVEML_MAX_BATCH_SIZE: must be between 1 and 4096, got 0",
                "SERVEML_QUEUE_CAPACITY: must be between 1 and 1000000, got 0",
                "SERVEML_REQUEST_TIMEOUT: must be a positive duration such as 500ms, 30s, 15m or 2h, got '0'",
                "SERVEML_MODEL_MEMORY: must be a positive size such as 512KB, 100MB or 2GB, got 'lots'");
    }

    @Test
    void environmentVariablesOverrideTheDefaults() {
        ServemlConfig config = ConfigLoader.load(Map.of(
                "SERVEML_HTTP_HOST", " 127.0.0.1 ",
                "SERVEML_HTTP_PORT", "9090",
                "SERVEML_MAX_REQUEST_SIZE", "1MB",
                "SERVEML_HTTP_EVENT_LOOPS", "2",
                "SERVEML_WORKER_THREADS", "3",
                "SERVEML_DATA_DIR", "/var/lib/serveml/../serveml-state",
                "SERVEML_MAX_UPLOAD_SIZE", "512KB",
                "SERVEML_DATABASE_URL", "jdbc:postgresql://db:5432/serveml",
                "SERVEML_DATABASE_POOL_SIZE", "20",
                "SERVEML_ONNX_INTRA_OP_THREADS", "4"));

        assertThat(config.http()).isEqualTo(new HttpConfig("127.0.0.1", 9090, 1L << 20, 2, 3, 64L << 20,
                Duration.ofSeconds(10), Duration.ofSeconds(75), 10_000, Duration.ofSeconds(30), Optional.empty()));
        assertThat(config.storage()).isEqualTo(new StorageConfig(Path.of("/var/lib/serveml-state"), 512L << 10,
                10L << 30, 2, Math.max(2, CORES), 64));
        assertThat(config.database()).isEqualTo(new DatabaseConfig(Optional.of("jdbc:postgresql://db:5432/serveml"),
                "serveml", "", 20, Duration.ofSeconds(2), Duration.ofSeconds(30), Optional.empty()));
        assertThat(config.database().embedded()).isFalse();
        assertThat(config.runtime()).isEqualTo(new RuntimeConfig(4, CORES + 1, 16 * 1024 * 1024, 16));
    }

    @Test
    void outputBoundsComeFromTheirKeysAndAreChecked() {
        ServemlConfig config = ConfigLoader.load(Map.of("SERVEML_MAX_RESPONSE_SIZE", "2MB",
                "SERVEML_MAX_OUTPUT_ELEMENTS", "5000"));

        assertThat(config.http().maxResponseBytes()).isEqualTo(2L << 20);
        assertThat(config.runtime().maxOutputElements()).isEqualTo(5000);
        assertThatThrownBy(() -> ConfigLoader.load(Map.of("SERVEML_MAX_RESPONSE_SIZE", "2GB",
                "SERVEML_MAX_OUTPUT_ELEMENTS", "0")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("SERVEML_MAX_RESPONSE_SIZE: must be at most 1GB")
                .hasMessageContaining("SERVEML_MAX_OUTPUT_ELEMENTS: must be between 1 and 134217728, got 0");
    }

    @Test
    void readsTheConnectionLimitsTheShutdownTimeoutAndThePortFile() {
        ServemlConfig config = ConfigLoader.load(Map.of(
                "SERVEML_HTTP_HEADER_TIMEOUT", "2s",
                "SERVEML_HTTP_IDLE_TIMEOUT", "30s",
                "SERVEML_HTTP_MAX_CONNECTIONS", "500",
                "SERVEML_SHUTDOWN_TIMEOUT", "0",
                "SERVEML_PORT_FILE", "/run/serveml/../serveml.port"));

        assertThat(config.http().headerTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.http().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.http().maxConnections()).isEqualTo(500);
        assertThat(config.http().shutdownTimeout()).isZero();
        assertThat(config.http().portFile()).contains(Path.of("/run/serveml.port"));
    }

    @Test
    void zeroConnectionsAndAZeroHeaderTimeoutAreConfigErrors() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_HTTP_HEADER_TIMEOUT", "0",
                "SERVEML_HTTP_MAX_CONNECTIONS", "0")));

        assertThat(e.problems()).containsExactly(
                "SERVEML_HTTP_HEADER_TIMEOUT: must be a positive duration such as 500ms, 30s, 15m or 2h, got '0'",
                "SERVEML_HTTP_MAX_CONNECTIONS: must be between 1 and 1000000, got 0");
    }

    @Test
    void withAuthenticationOffTheListenerStaysOnThisMachineUnlessAHostIsChosen() {
        assertThat(ConfigLoader.load(Map.of("SERVEML_AUTH", "off")).http().host()).isEqualTo("127.0.0.1");
        assertThat(ConfigLoader.load(Map.of("SERVEML_AUTH", "off", "SERVEML_HTTP_HOST", "0.0.0.0")).http().host())
                .isEqualTo("0.0.0.0");
        assertThat(ConfigLoader.load(Map.of("SERVEML_AUTH", "on")).http().host()).isEqualTo("0.0.0.0");
    }

    @Test
    void ignoresVariablesOutsideTheServemlPrefixAndBlankNumbers() {
        ServemlConfig config = ConfigLoader.load(Map.of("HTTP_PORT", "1", "PORT", "2", "SERVEML_HTTP_PORT", " "));

        assertThat(config.http().port()).isEqualTo(8080);
    }

    @Test
    void parsesSizesWithBinaryUnits() {
        assertThat(ConfigLoader.parseSize("512KB")).isEqualTo(524_288L);
        assertThat(ConfigLoader.parseSize("10m")).isEqualTo(10_485_760L);
        assertThat(ConfigLoader.parseSize("2GB")).isEqualTo(2_147_483_648L);
        assertThat(ConfigLoader.parseSize("1024")).isEqualTo(1024L);
        assertThat(ConfigLoader.parseSize("10KiB")).isEqualTo(10_240L);
        assertThat(ConfigLoader.parseSize(" 3 mb ")).isEqualTo(3L << 20);
        assertThat(ConfigLoader.parseSize("7b")).isEqualTo(7L);
        assertThat(ConfigLoader.parseSize("1T")).isEqualTo(1L << 40);
    }

    @Test
    void refusesTextThatIsNotASize() {
        assertThat(ConfigLoader.parseSize("lots")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("-5MB")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("5x")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("5ib")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("1.5GB")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("99999999999999999999")).isEqualTo(-1);
        assertThat(ConfigLoader.parseSize("9999999999999G")).isEqualTo(-1);
    }

    @Test
    void readsTheStorageQuotaAndTheUploadLimits() {
        StorageConfig storage = ConfigLoader.load(Map.of(
                "SERVEML_STORAGE_QUOTA_PER_USER", "500MB",
                "SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER", "3",
                "SERVEML_UPLOAD_THREADS", "6",
                "SERVEML_UPLOAD_QUEUE", "0")).storage();

        assertThat(storage.quotaBytesPerUser()).isEqualTo(500L << 20);
        assertThat(storage.maxUploadsPerUser()).isEqualTo(3);
        assertThat(storage.uploadThreads()).isEqualTo(6);
        assertThat(storage.uploadQueue()).isZero();
    }

    @Test
    void refusesAZeroQuotaAndNoUploadsPerUser() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_STORAGE_QUOTA_PER_USER", "0",
                "SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER", "0")));

        assertThat(e.problems()).containsExactly(
                "SERVEML_STORAGE_QUOTA_PER_USER: must be a positive size such as 512KB, 100MB or 2GB, got '0'",
                "SERVEML_MAX_CONCURRENT_UPLOADS_PER_USER: must be between 1 and 1024, got 0");
    }

    @Test
    void listsEveryInvalidValueInOneException() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_HTTP_PORT", "70000",
                "SERVEML_HTTP_EVENT_LOOPS", "0",
                "SERVEML_MAX_UPLOAD_SIZE", "lots",
                "SERVEML_MAX_REQUEST_SIZE", "0",
                "SERVEML_DATABASE_URL", "mysql://db/serveml",
                "SERVEML_DATABASE_POOL_SIZE", "many")));

        assertThat(e.problems()).containsExactly(
                "SERVEML_HTTP_PORT: must be between 0 and 65535, got 70000",
                "SERVEML_MAX_REQUEST_SIZE: must be a positive size such as 512KB, 100MB or 2GB, got '0'",
                "SERVEML_HTTP_EVENT_LOOPS: must be between 1 and 256, got 0",
                "SERVEML_MAX_UPLOAD_SIZE: must be a positive size such as 512KB, 100MB or 2GB, got 'lots'",
                "SERVEML_DATABASE_URL: must be a PostgreSQL JDBC URL (jdbc:postgresql://host:port/db), "
                        + "got 'mysql://db/serveml'",
                "SERVEML_DATABASE_POOL_SIZE: must be a whole number, got 'many'");
        assertThat(e.getMessage()).isEqualTo("invalid configuration:\n  - " + String.join("\n  - ", e.problems()));
    }

    @Test
    void readsTheConfigFileWithTheEnvironmentTakingPrecedence(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("serveml.properties");
        Files.writeString(file, """
                # comments and spacing are fine
                SERVEML_HTTP_PORT = 9000
                SERVEML_MAX_UPLOAD_SIZE=10m
                SERVEML_DATABASE_USER=from-file
                """);

        ServemlConfig config = ConfigLoader.load(Map.of("SERVEML_CONFIG_FILE", file.toString(),
                "SERVEML_HTTP_PORT", "9001"));

        assertThat(config.http().port()).isEqualTo(9001);
        assertThat(config.storage().maxUploadBytes()).isEqualTo(10L << 20);
        assertThat(config.database().user()).isEqualTo("from-file");
    }

    @Test
    void reportsAMissingConfigFileAlongsideOtherProblems(@TempDir Path dir) {
        Path missing = dir.resolve("absent.properties");

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_CONFIG_FILE", missing.toString(), "SERVEML_HTTP_PORT", "-1")));

        assertThat(e.problems()).containsExactly(
                "SERVEML_CONFIG_FILE: cannot read '" + missing + "': " + missing,
                "SERVEML_HTTP_PORT: must be between 0 and 65535, got -1");
    }

    @Test
    void printsTheDatabasePasswordAsStars() {
        ServemlConfig config = ConfigLoader.load(Map.of(
                "SERVEML_DATABASE_URL", "jdbc:postgresql://db/serveml",
                "SERVEML_DATABASE_USER", "app",
                "SERVEML_DATABASE_PASSWORD", "s3cr3t-pa55"));

        assertThat(config.database().password()).isEqualTo("s3cr3t-pa55");
        assertThat(config.database()).hasToString(
                "DatabaseConfig[url=jdbc:postgresql://db/serveml, user=app, password=***, poolSize=8, connectTimeout=PT2S, socketTimeout=PT30S, embeddedBinaries=(data dir)]");
        assertThat(config.toString()).contains("password=***").doesNotContain("s3cr3t-pa55");
    }

    @Test
    void printsAnEmptyPasswordAsEmptyAndTheEmbeddedDatabaseByName() {
        assertThat(new DatabaseConfig(Optional.empty(), "serveml", "", 8, Duration.ofSeconds(2), Duration.ofSeconds(30), Optional.empty()))
                .hasToString("DatabaseConfig[url=(embedded), user=serveml, password=, poolSize=8, connectTimeout=PT2S, socketTimeout=PT30S, embeddedBinaries=(data dir)]");
    }

    @Test
    void aPasswordInsideTheDatabaseUrlNeverReachesTheLogOrAnError() {
        assertThat(DatabaseConfig.redact("jdbc:postgresql://db:5432/serveml?user=a&password=s3cret&ssl=true"))
                .isEqualTo("jdbc:postgresql://db:5432/serveml?user=a&password=***&ssl=true");
        assertThat(DatabaseConfig.redact("jdbc:postgresql://a:s3cret@db/serveml"))
                .isEqualTo("jdbc:postgresql://a:***@db/serveml");
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ConfigLoader.load(java.util.Map.of("SERVEML_DATABASE_URL", "mysql://x?password=s3cret")));
        assertThat(e.getMessage()).doesNotContain("s3cret").contains("password=***");
    }

    @Test
    void pipGetsNoIndexWheelsOnlyAndNoDirectReferencesUnlessConfigured(@TempDir Path wheels) {
        PipConfig defaults = ConfigLoader.load(Map.of()).python().pip();
        assertThat(defaults).isEqualTo(new PipConfig(Duration.ofSeconds(300), Optional.empty(), Optional.empty(), true,
                false, Duration.ofHours(168)));

        PipConfig set = ConfigLoader.load(Map.of("SERVEML_PIP_INDEX_URL", "https://reader:s3cret@pypi.example/simple",
                "SERVEML_PIP_WHEELHOUSE", wheels.toString(), "SERVEML_PIP_ONLY_BINARY", "false",
                "SERVEML_PIP_ALLOW_DIRECT_REFERENCES", "true", "SERVEML_PIP_ENV_RETENTION", "0")).python().pip();
        assertThat(set.indexUrl()).hasValue("https://reader:s3cret@pypi.example/simple");
        assertThat(set.wheelhouse()).hasValue(wheels);
        assertThat(set.onlyBinary()).isFalse();
        assertThat(set.allowDirectReferences()).isTrue();
        assertThat(set.envRetention()).isZero();
        assertThat(set.toString()).doesNotContain("s3cret");
    }

    @Test
    void badPipSettingsAreConfigErrors() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_PIP_INDEX_URL", "ftp://x", "SERVEML_PIP_WHEELHOUSE", "/no/such/wheelhouse",
                "SERVEML_PIP_ONLY_BINARY", "yes")));
        assertThat(e.problems()).containsExactly(
                "SERVEML_PIP_INDEX_URL: must be an http(s) URL such as https://pypi.org/simple",
                "SERVEML_PIP_WHEELHOUSE: not a directory: '/no/such/wheelhouse'",
                "SERVEML_PIP_ONLY_BINARY: must be 'true' or 'false', got 'yes'");
    }
}
