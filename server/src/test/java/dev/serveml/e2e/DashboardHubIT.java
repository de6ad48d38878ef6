package dev.serveml.e2e;

import dev.serveml.hub.FakeHub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "screenshots");
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
    static ChromeDriverService service;
    static WebDriver driver;

    @BeforeAll
    static void start() throws IOException {
        SystemRequirements.require(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "Chromium and its driver are not installed (apt-get install chromium chromium-driver)");
        Files.createDirectories(SCREENSHOTS);
        hub = new FakeHub();
        serveFixture(hub.repo(REPO, COMMIT), "bert-tiny-sst2");
        // The broken repository's ONNX export is not ONNX: it downloads, and fails to load.
        serveFixture(hub.repo(BROKEN, BROKEN_COMMIT), "bert-tiny-sst2").file("onnx/model.onnx", noise(6, 2048), true);
        server = TestServer.start(dataDir, Map.of("SERVEML_HF_ENDPOINT", hub.endpoint().toString(),
                "SERVEML_HF_CACHE", hubCache.toString()));
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profileDir, "--window-size=1280,800");
        driver = new ChromeDriver(service, options);
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
            if (driver != null) {
                driver.quit();
            }
        } finally {
            try {
                if (service != null) {
                    service.stop();
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
    }

    @BeforeEach
    void signIn() {
        driver.manage().window().setSize(new Dimension(1280, 800));
        open("/login");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        type("login-username", "admin");
        type("login-password", TestServer.ADMIN_PASSWORD);
        click("login-submit");
        visible("page-deployments");
    }

    @Test
    void aHubModelIsCheckedImportedWithItsPhasesDeployedAndAnswersInTheConsoleAsBars() {
        open("/deploy");
        click("wizard-source-hub");
        type("wizard-hub-repo", "https://huggingface.co/" + REPO);
        type("wizard-hub-token", FakeHub.TOKEN);
        click("wizard-hub-check");

        visible("wizard-hub-preview");
        List<WebElement> files = driver.findElements(testId("hub-file"));
        assertThat(files).extracting(f -> f.getDomAttribute("data-path"))
                .contains("config.json", "tokenizer.json", "onnx/model.onnx", "README.md", "model.safetensors");
        assertThat(files).filteredOn(f -> f.getDomAttribute("data-path").equals("onnx/model.onnx"))
                .allSatisfy(f -> assertThat(f.getDomAttribute("class")).isEqualTo("needed"));
        assertThat(files).filteredOn(f -> f.getDomAttribute("data-path").equals("model.safetensors"))
                .allSatisfy(f -> assertThat(f.getDomAttribute("class")).isEqualTo("skipped"));
        assertThat(find("hub-task").getText()).contains("text-classification");
        assertThat(find("hub-needed-bytes").getText()).matches("\\d+ of " + files.size() + " files, .*");
        assertThat(find("hub-commit").getText()).isEqualTo(COMMIT.substring(0, 12));
        assertThat(find("wizard-hub-model-name").getDomProperty("value")).isEqualTo("bert-tiny-sst2");
        type("wizard-hub-model-name", "hub-sst2");
        screenshot("deploy-hub-1-check");

        click("wizard-next-1");
        click("wizard-next-2");
        click("wizard-next-3");
        type("wizard-deployment-name", "hub-web");
        assertThat(visible("review-model").getText()).contains("hub-sst2", "hf://" + REPO, "main", "fp32");
        click("wizard-next-4");

        visible("import-ready");
        assertThat(find("import-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(find("import-percent").getText()).isEqualTo("100%");
        for (String phase : List.of("validating", "downloading", "loading", "pipeline", "ready")) {
            WebElement step = find("import-phase-" + phase);
            assertThat(step.getDomAttribute("data-state")).as(phase).isEqualTo("done");
            assertThat(step.getDomAttribute("data-seen")).as("an event of phase " + phase + " arrived").isEqualTo("true");
        }
        assertThat(find("import-bytes").getText()).contains(" of ");
        assertThat(visible("rollout-active").getText()).contains("Active");
        screenshot("deploy-hub-2-progress");

        // The token went to the Hub, and nowhere in the browser keeps it.
        assertThat(hub.seen).anySatisfy(s -> assertThat(s.authorization()).hasValue("Bearer " + FakeHub.TOKEN));
        Object stored = ((JavascriptExecutor) driver).executeScript("return JSON.stringify(Object.entries(localStorage))"
                + " + JSON.stringify(Object.entries(sessionStorage)) + document.cookie + location.href");
        assertThat(stored.toString()).doesNotContain(FakeHub.TOKEN);

        click("open-deployment");
        assertThat(visible("deployment-status").getText()).isEqualTo("active");
        click("rollout-history");
        assertThat(find("rollout-import-phase-ready").getDomAttribute("data-state")).isEqualTo("done");
        assertThat(find("rollout-import-progress").getDomProperty("value")).isEqualTo("100");
        visible("rollout-steps");

        assertThat(visible("console-text-form").getDomAttribute("data-task")).isEqualTo("text-classification");
        type("console-text", "I loved this movie!");
        click("console-send");
        visible("console-bars");
        List<WebElement> bars = driver.findElements(testId("console-bar"));
        assertThat(bars).extracting(b -> b.getDomAttribute("data-label")).containsExactly("POSITIVE", "NEGATIVE");
        screenshotWholePage("deployment-hub");

        var version = json(server.get("/api/v1/models/hub-sst2/versions/1"));
        assertThat(version.at("/metadata/source").asText()).isEqualTo("hf://" + REPO);
        assertThat(version.at("/metadata/commit").asText()).isEqualTo(COMMIT);
    }

    @Test
    void anUnknownRepositoryIsRefusedAtTheCheckWithTheProblemsDetail() {
        open("/deploy");
        click("wizard-source-hub");
        type("wizard-hub-repo", "serveml-test/no-such-repo");
        click("wizard-hub-check");
        assertThat(visible("wizard-hub-error-detail").getText()).contains("serveml-test/no-such-repo");
        assertThat(driver.findElements(testId("wizard-hub-preview"))).isEmpty();
    }

    @Test
    void anImportThatFailsShowsTheProblemsDetailAndLeavesNoVersionNorDeployment() {
        open("/deploy");
        click("wizard-source-hub");
        type("wizard-hub-repo", BROKEN);
        type("wizard-hub-model-name", "hub-broken");
        click("wizard-next-1");
        click("wizard-next-2");
        click("wizard-next-3");
        type("wizard-deployment-name", "hub-broken-web");
        click("wizard-next-4");

        // Refused when it starts (422) or failed on the way (the stream's failed phase): either way in words.
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.or(
                ExpectedConditions.visibilityOfElementLocated(testId("import-failed")),
                ExpectedConditions.visibilityOfElementLocated(testId("import-error"))));
        WebElement failed = firstVisible("import-failed-detail", "import-error-detail");
        assertThat(failed).isNotNull();
        assertThat(failed.getText()).contains("ONNX").doesNotContain("Exception", "/tmp/");
        visible("wizard-retry");
        assertThat(driver.findElements(testId("rollout"))).as("no deployment was started").isEmpty();
        assertThat(server.get("/api/v1/deployments/hub-broken-web").statusCode()).isEqualTo(404);
        HttpResponse<String> versions = server.get("/api/v1/models/hub-broken/versions");
        assertThat(versions.statusCode() == 404 || json(versions).get("items").isEmpty())
                .as("no version registered: " + versions.body()).isTrue();
        screenshot("deploy-hub-failed");
    }

    private static WebElement firstVisible(String... ids) {
        for (String id : ids) {
            List<WebElement> found = driver.findElements(testId(id));
            if (!found.isEmpty() && found.getFirst().isDisplayed()) {
                return found.getFirst();
            }
        }
        return null;
    }

    private static void open(String route) {
        driver.get(server.uri("/#" + route).toString());
    }

    private static By testId(String id) {
        return By.cssSelector("[data-testid=\"" + id + "\"]");
    }

    private static WebElement visible(String id) {
        return new WebDriverWait(driver, WAIT).until(ExpectedConditions.visibilityOfElementLocated(testId(id)));
    }

    private static WebElement find(String id) {
        return new WebDriverWait(driver, WAIT).until(ExpectedConditions.presenceOfElementLocated(testId(id)));
    }

    private static void click(String id) {
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.elementToBeClickable(testId(id))).click();
    }

    private static void type(String id, String text) {
        WebElement e = visible(id);
        e.clear();
        e.sendKeys(text);
    }

    private static void screenshotWholePage(String name) {
        Dimension before = driver.manage().window().getSize();
        long height = (Long) ((JavascriptExecutor) driver).executeScript(
                "return Math.ceil(document.documentElement.scrollHeight)");
        driver.manage().window().setSize(new Dimension(before.getWidth(), (int) Math.min(6000, height + 140)));
        try {
            screenshot(name);
        } finally {
            driver.manage().window().setSize(before);
        }
    }

    private static void screenshot(String name) {
        try {
            Files.copy(((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath(), SCREENSHOTS.resolve(name + ".png"),
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
