package dev.serveml.e2e;

import dev.serveml.hub.FakeHub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14 in the dashboard (Chromium, as DashboardIT drives it): a model deployed from a fake
 * Hugging Face Hub serving the bert-tiny-sst2 fixture. The wizard checks the repository (its files
 * and what will be downloaded), imports it with the progress bar and its phases, deploys it; the
 * deployment's rollout view shows the import's phases; its test console draws classification
 * bars. A Hub token typed in the wizard reaches the Hub and is kept nowhere in the browser. A
 * failed import shows the problem's detail and leaves no version and no deployment.
 * This server is its own: it points at the fake Hub (SERVEML_HF_ENDPOINT) with its own cache.
 */
class DashboardHubIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String REPO = "serveml-test/bert-tiny-sst2";
    private static final String BROKEN = "serveml-test/broken-sst2";
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final String BROKEN_COMMIT = "89abcdef0123456789abcdef0123456789abcdef";

    @TempDir
    static Path dataDir;
    @TempDir
    static Path hubCache;
    @TempDir
    static Path profileDir;
    static FakeHub hub;
    static TestServer server;
    static Browser browser;
    static WebDriver driver;

    @BeforeAll
    static void start() throws IOException {
        hub = new FakeHub();
        serveFixture(hub.repo(REPO, COMMIT), "bert-tiny-sst2");
        // The broken repository's ONNX export is not ONNX: it downloads, and fails to load.
        serveFixture(hub.repo(BROKEN, BROKEN_COMMIT), "bert-tiny-sst2").file("onnx/model.onnx", noise(6, 2048), true);
        server = TestServer.start(dataDir, Map.of("SERVEML_HF_ENDPOINT", hub.endpoint().toString(),
                "SERVEML_HF_CACHE", hubCache.toString()));
        browser = Browser.start(server, profileDir, new Dimension(1280, 800), WAIT);
        driver = browser.driver;
    }

    /** The fixture's files at their repository paths; the ONNX file in LFS as on the Hub, and files an import skips. */
    private static FakeHub.Repo serveFixture(FakeHub.Repo repo, String fixture) throws IOException {
        Path dir;
        try {
            dir = Path.of(DashboardHubIT.class.getResource("/fixtures/hf/" + fixture).toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String path = dir.relativize(f).toString().replace('\\', '/');
                repo.file(path, Files.readAllBytes(f), path.endsWith(".onnx"));
            }
        }
        repo.file("README.md", "# bert-tiny-sst2\nA test fixture.\n".getBytes(StandardCharsets.UTF_8), false);
        return repo.file("model.safetensors", noise(5, 4096), true);
    }

    private static byte[] noise(long seed, int size) {
        byte[] bytes = new byte[size];
        new java.util.Random(seed).nextBytes(bytes);
        return bytes;
    }

    @AfterAll
    static void stop() {
        try {
            if (browser != null) {
                browser.close();
            }
        } finally {
            if (server != null) {
                server.close();
            }
            if (hub != null) {
                hub.close();
            }
        }
    }

    @BeforeEach
    void signIn() {
        driver.manage().window().setSize(new Dimension(1280, 800));
        browser.open("/login");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        browser.type("login-username", "admin");
        browser.type("login-password", TestServer.ADMIN_PASSWORD);
        browser.click("login-submit");
        browser.visible("page-deployments");
    }

    @Test
    void aHubModelIsCheckedImportedWithItsPhasesDeployedAndAnswersInTheConsoleAsBars() {
        browser.open("/deploy");
        browser.click("wizard-source-hub");
        browser.type("wizard-hub-repo", "https://huggingface.co/" + REPO);
        browser.type("wizard-hub-token", FakeHub.TOKEN);
        browser.click("wizard-hub-check");

        browser.visible("wizard-hub-preview");
        List<WebElement> files = driver.findElements(Browser.testId("hub-file"));
        assertThat(files).extracting(f -> f.getDomAttribute("data-path"))
                .contains("config.json", "tokenizer.json", "onnx/model.onnx", "README.md", "model.safetensors");
        assertThat(files).filteredOn(f -> f.getDomAttribute("data-path").equals("onnx/model.onnx"))
                .allSatisfy(f -> assertThat(f.getDomAttribute("class")).isEqualTo("needed"));
        assertThat(files).filteredOn(f -> f.getDomAttribute("data-path").equals("model.safetensors"))
                .allSatisfy(f -> assertThat(f.getDomAttribute("class")).isEqualTo("skipped"));
        assertThat(browser.find("hub-task").getText()).contains("text-classification");
        assertThat(browser.find("hub-needed-bytes").getText()).matches("\\d+ of " + files.size() + " files, .*");
        assertThat(browser.find("hub-commit").getText()).isEqualTo(COMMIT.substring(0, 12));
        assertThat(browser.find("wizard-hub-model-name").getDomProperty("value")).isEqualTo("bert-tiny-sst2");
        browser.type("wizard-hub-model-name", "hub-sst2");
        browser.screenshot("deploy-hub-1-check");

        browser.click("wizard-next-1");
        browser.click("wizard-next-2");
        browser.click("wizard-next-3");
        browser.type("wizard-deployment-name", "hub-web");
        assertThat(browser.visible("review-model").getText()).contains("hub-sst2", "hf://" + REPO, "main", "fp32");
        browser.click("wizard-next-4");

        browser.visible("import-ready");
        assertThat(browser.find("import-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(browser.find("import-percent").getText()).isEqualTo("100%");
        for (String phase : List.of("validating", "downloading", "loading", "pipeline", "ready")) {
            WebElement step = browser.find("import-phase-" + phase);
            assertThat(step.getDomAttribute("data-state")).as(phase).isEqualTo("done");
            assertThat(step.getDomAttribute("data-seen")).as("an event of phase " + phase + " arrived").isEqualTo("true");
        }
        assertThat(browser.find("import-bytes").getText()).contains(" of ");
        assertThat(browser.visible("rollout-active").getText()).contains("Active");
        browser.screenshot("deploy-hub-2-progress");

        // The token went to the Hub, and nowhere in the browser keeps it.
        assertThat(hub.seen).anySatisfy(s -> assertThat(s.authorization()).hasValue("Bearer " + FakeHub.TOKEN));
        Object stored = ((JavascriptExecutor) driver).executeScript("return JSON.stringify(Object.entries(localStorage))"
                + " + JSON.stringify(Object.entries(sessionStorage)) + document.cookie + location.href");
        assertThat(stored.toString()).doesNotContain(FakeHub.TOKEN);

        browser.click("open-deployment");
        assertThat(browser.visible("deployment-status").getText()).isEqualTo("active");
        browser.click("rollout-history");
        assertThat(browser.find("rollout-import-phase-ready").getDomAttribute("data-state")).isEqualTo("done");
        assertThat(browser.find("rollout-import-progress").getDomProperty("value")).isEqualTo("100");
        browser.visible("rollout-steps");

        assertThat(browser.visible("console-text-form").getDomAttribute("data-task")).isEqualTo("text-classification");
        browser.type("console-text", "I loved this movie!");
        browser.click("console-send");
        browser.visible("console-bars");
        List<WebElement> bars = driver.findElements(Browser.testId("console-bar"));
        assertThat(bars).extracting(b -> b.getDomAttribute("data-label")).containsExactly("POSITIVE", "NEGATIVE");
        browser.screenshotWholePage("deployment-hub");

        var version = json(server.get("/api/v1/models/hub-sst2/versions/1"));
        assertThat(version.at("/metadata/source").asText()).isEqualTo("hf://" + REPO);
        assertThat(version.at("/metadata/commit").asText()).isEqualTo(COMMIT);
    }

    @Test
    void anUnknownRepositoryIsRefusedAtTheCheckWithTheProblemsDetail() {
        browser.open("/deploy");
        browser.click("wizard-source-hub");
        browser.type("wizard-hub-repo", "serveml-test/no-such-repo");
        browser.click("wizard-hub-check");
        assertThat(browser.visible("wizard-hub-error-detail").getText()).contains("serveml-test/no-such-repo");
        assertThat(driver.findElements(Browser.testId("wizard-hub-preview"))).isEmpty();
    }

    @Test
    void anImportThatFailsShowsTheProblemsDetailAndLeavesNoVersionNorDeployment() {
        browser.open("/deploy");
        browser.click("wizard-source-hub");
        browser.type("wizard-hub-repo", BROKEN);
        browser.type("wizard-hub-model-name", "hub-broken");
        browser.click("wizard-next-1");
        browser.click("wizard-next-2");
        browser.click("wizard-next-3");
        browser.type("wizard-deployment-name", "hub-broken-web");
        browser.click("wizard-next-4");

        // Refused when it starts (422) or failed on the way (the stream's failed phase): either way in words.
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.or(
                ExpectedConditions.visibilityOfElementLocated(Browser.testId("import-failed")),
                ExpectedConditions.visibilityOfElementLocated(Browser.testId("import-error"))));
        WebElement failed = firstVisible("import-failed-detail", "import-error-detail");
        assertThat(failed).isNotNull();
        assertThat(failed.getText()).contains("ONNX").doesNotContain("Exception", "/tmp/");
        browser.visible("wizard-retry");
        assertThat(driver.findElements(Browser.testId("rollout"))).as("no deployment was started").isEmpty();
        assertThat(server.get("/api/v1/deployments/hub-broken-web").statusCode()).isEqualTo(404);
        HttpResponse<String> versions = server.get("/api/v1/models/hub-broken/versions");
        assertThat(versions.statusCode() == 404 || json(versions).get("items").isEmpty())
                .as("no version registered: " + versions.body()).isTrue();
        browser.screenshot("deploy-hub-failed");
    }

    private static WebElement firstVisible(String... ids) {
        for (String id : ids) {
            List<WebElement> found = driver.findElements(Browser.testId(id));
            if (!found.isEmpty() && found.getFirst().isDisplayed()) {
                return found.getFirst();
            }
        }
        return null;
    }








}
