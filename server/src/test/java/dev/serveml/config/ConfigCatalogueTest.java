package dev.serveml.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ConfigCatalogueTest {
    /** The README's table is rendered from the catalogue; on a mismatch the message holds the table to paste. */
    @Test
    void theReadmeConfigurationTableIsExactlyTheCatalogue() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        String table = Setting.markdownTable();
        int start = readme.indexOf("| variable | default | meaning |\n");
        assertThat(start).as("the README has a Configuration table").isNotNegative();
        int end = readme.indexOf("\n\n", start);
        assertThat(readme.substring(start, end + 1))
                .as("README.md's Configuration table; regenerate it with "
                        + "java -cp server/target/classes dev.serveml.config.Setting, or paste:\n" + table)
                .isEqualTo(table);
    }

    @Test
    void aMistypedVariableFailsTheStartNamingTheNearestKnownOneAlongsideOtherProblems() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_HTTP_PROT", "9090", "SERVEML_CACHE_TL", "1m", "SERVEML_HTTP_PORT", "-1")));

        assertThat(e.problems()).containsExactly(
                "SERVEML_CACHE_TL: unknown setting; did you mean SERVEML_CACHE_TTL?",
                "SERVEML_HTTP_PROT: unknown setting; did you mean SERVEML_HTTP_PORT?",
                "SERVEML_HTTP_PORT: must be between 0 and 65535, got -1");
    }

    @Test
    void aMistypedKeyInTheConfigFileIsReportedWithTheFileItIsIn(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("serveml.properties");
        Files.writeString(file, "SERVEML_REDIS_ULR=redis://127.0.0.1:6379\n");

        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.load(Map.of("SERVEML_CONFIG_FILE", file.toString())));

        assertThat(e.problems()).containsExactly(
                "SERVEML_REDIS_ULR: unknown setting; did you mean SERVEML_REDIS_URL? (in " + file + ")");
    }

    @Test
    void namesTheScriptsAndTestsUseAndOtherProgramsVariablesAreNotReported() {
        ServemlConfig config = ConfigLoader.load(Map.of("SERVEML_ROOT", "/repo", "SERVEML_REPO_ROOT", "/repo",
                "SERVEML_REQUIRE_ALL", "1", "SERVEML_JAVA_OPTS", "-Xmx1g", "SERVEML_JAVA_HOME", "/jdk",
                "SERVEML_SHARED", "/shared", "SERVEML_API_KEY", "sk", "HTTP_PROT", "1"));

        assertThat(config.http().port()).isEqualTo(8080);
    }

    @Test
    void theListingShowsEveryServerKeyOnceWithItsEffectiveValueAndSecretsMasked() {
        List<String> listing = ConfigLoader.list(Map.of(
                "SERVEML_HTTP_PORT", "9090",
                "SERVEML_DATABASE_URL", "jdbc:postgresql://app:s3cret@db/serveml",
                "SERVEML_DATABASE_PASSWORD", "s3cret-too",
                "SERVEML_JWT_SECRET", "s3cret-s3cret-s3cret-s3cret-s3cret",
                "SERVEML_ADMIN_PASSWORD", "s3cret-admin",
                "SERVEML_REDIS_URL", "redis://:s3cret@cache:6379",
                "SERVEML_AUTH", "off"));

        assertThat(listing).map(line -> line.substring(0, line.indexOf('='))).containsExactlyElementsOf(
                Arrays.stream(Setting.values()).filter(s -> !s.forScripts()).map(Setting::name).toList());
        assertThat(listing).contains("SERVEML_HTTP_PORT=9090", "SERVEML_HTTP_HOST=127.0.0.1",
                "SERVEML_DATABASE_URL=jdbc:postgresql://***@db/serveml", "SERVEML_DATABASE_PASSWORD=***",
                "SERVEML_JWT_SECRET=***", "SERVEML_ADMIN_PASSWORD=***", "SERVEML_REDIS_URL=redis://***@cache:6379",
                "SERVEML_CACHE_TTL=5m", "SERVEML_PIP_INDEX_URL=",
                "SERVEML_INFERENCE_THREADS=" + (Runtime.getRuntime().availableProcessors() + 1));
        assertThat(String.join("\n", listing)).doesNotContain("s3cret");
    }

    @Test
    void everySecretIsMaskedAndNoOtherValueIs() {
        assertThat(Arrays.stream(Setting.values()).filter(Setting::secret).map(Setting::name)).containsExactlyInAnyOrder(
                "SERVEML_DATABASE_URL", "SERVEML_DATABASE_PASSWORD", "SERVEML_ADMIN_PASSWORD", "SERVEML_JWT_SECRET",
                "SERVEML_REDIS_URL", "SERVEML_PIP_INDEX_URL", "SERVEML_HF_TOKEN");
        assertThat(Setting.SERVEML_ADMIN_PASSWORD.masked("hunter2-hunter2")).isEqualTo("***");
        assertThat(Setting.SERVEML_ADMIN_PASSWORD.masked("")).isEmpty();
        assertThat(Setting.SERVEML_DATABASE_USER.masked("app")).isEqualTo("app");
    }

    @Test
    void redisHasItsOwnRecordThatPrintsWithoutItsPassword() {
        ServemlConfig config = ConfigLoader.load(Map.of("SERVEML_REDIS_URL", "redis://:s3cret@cache:6379"));

        assertThat(config.redis().url()).hasValue("redis://:s3cret@cache:6379");
        assertThat(config.redis()).hasToString("RedisConfig[url=redis://***@cache:6379]");
        assertThat(config.toString()).doesNotContain("s3cret");
        assertThat(ConfigLoader.load(Map.of()).redis().url()).isEmpty();
    }

    @Test
    void theOpenBlasVariablesArePassedToWorkersThroughThePythonConfig() {
        assertThat(ConfigLoader.load(Map.of("OPENBLAS_CORETYPE", "Haswell", "PATH", "/bin")).python().passThrough())
                .isEqualTo(Map.of("OPENBLAS_CORETYPE", "Haswell"));
        assertThat(ConfigLoader.load(Map.of()).python().passThrough()).isEmpty();
    }

    @Test
    void everyOnOffChoiceRefusesOtherWordsTheSameWay() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of(
                "SERVEML_AUTH", "yes", "SERVEML_CACHE", "no", "SERVEML_REGISTRATION", "invite",
                "SERVEML_PYTHON_SANDBOX", "docker")));

        assertThat(e.problems()).containsExactlyInAnyOrder(
                "SERVEML_AUTH: must be 'on' or 'off', got 'yes'",
                "SERVEML_CACHE: must be 'on' or 'off', got 'no'",
                "SERVEML_REGISTRATION: must be 'open' or 'closed', got 'invite'",
                "SERVEML_PYTHON_SANDBOX: must be 'bwrap' or 'off', got 'docker'");
    }

    @Test
    void theNearestNameIsByEditDistance() {
        assertThat(Setting.distance("kitten", "sitting")).isEqualTo(3);
        assertThat(Setting.distance("", "abc")).isEqualTo(3);
        assertThat(Setting.nearest("SERVEML_PYTHON_WORKER")).isEqualTo(Setting.SERVEML_PYTHON_WORKERS);
    }

    @Test
    void theHubKeysFallBackToHuggingFacesOwnVariablesInHuggingfaceHubsOrder() {
        HubConfig defaults = ConfigLoader.load(Map.of("HOME", "/home/u")).hub();
        assertThat(defaults.endpoint()).hasToString("https://huggingface.co");
        assertThat(defaults.cacheDir()).isEqualTo(Path.of("/home/u/.cache/huggingface/hub"));
        assertThat(defaults.offline()).isFalse();
        assertThat(defaults.token()).isEmpty();
        assertThat(ConfigLoader.load(Map.of("HF_HOME", "/hf")).hub().cacheDir()).isEqualTo(Path.of("/hf/hub"));
        assertThat(ConfigLoader.load(Map.of("HF_HOME", "/hf", "HF_HUB_CACHE", "/hub")).hub().cacheDir())
                .isEqualTo(Path.of("/hub"));
        assertThat(ConfigLoader.load(Map.of("HF_HUB_CACHE", "/hub", "SERVEML_HF_CACHE", "/mine")).hub().cacheDir())
                .isEqualTo(Path.of("/mine"));
        assertThat(ConfigLoader.load(Map.of("HF_ENDPOINT", "https://hf-mirror.example/")).hub().endpoint())
                .hasToString("https://hf-mirror.example");
        assertThat(ConfigLoader.load(Map.of("HF_ENDPOINT", "https://hf-mirror.example",
                "SERVEML_HF_ENDPOINT", "http://127.0.0.1:9000")).hub().endpoint()).hasToString("http://127.0.0.1:9000");
        assertThat(ConfigLoader.load(Map.of("HF_HUB_OFFLINE", "1")).hub().offline()).isTrue();
        assertThat(ConfigLoader.load(Map.of("HF_HUB_OFFLINE", "ON")).hub().offline()).isTrue();
        assertThat(ConfigLoader.load(Map.of("HF_HUB_OFFLINE", "0")).hub().offline()).isFalse();
        assertThat(ConfigLoader.load(Map.of("HF_HUB_OFFLINE", "1", "SERVEML_HF_OFFLINE", "false")).hub().offline())
                .as("ServeML's own key wins").isFalse();
        HubConfig set = ConfigLoader.load(Map.of("SERVEML_HF_TOKEN", "hf_s3cret", "SERVEML_HF_OFFLINE", "true")).hub();
        assertThat(set.token()).hasValue("hf_s3cret");
        assertThat(set.offline()).isTrue();
        assertThat(set.toString()).doesNotContain("hf_s3cret");
        assertThat(ConfigLoader.list(Map.of("SERVEML_HF_TOKEN", "hf_s3cret"))).contains("SERVEML_HF_TOKEN=***");
    }

    @Test
    void aHubEndpointWithCredentialsQueryOrAnotherSchemeIsRefused() {
        for (String bad : List.of("ftp://hub", "https://user:pw@hub", "https://hub?x=1", "https://hub#x", "hub")) {
            ConfigException e = catchThrowableOfType(ConfigException.class,
                    () -> ConfigLoader.load(Map.of("SERVEML_HF_ENDPOINT", bad)));
            assertThat(e).as(bad).isNotNull();
            assertThat(e.problems()).singleElement().asString().startsWith("SERVEML_HF_ENDPOINT: must be an http(s) URL");
        }
        assertThat(catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(Map.of("HF_ENDPOINT", "ftp://x")))
                .problems()).singleElement().asString().startsWith("HF_ENDPOINT (the default of SERVEML_HF_ENDPOINT)");
    }
}
