package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
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

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in Debian's Chromium (headless, through its chromedriver) against a real ServeML:
 * each test signs in as the admin and makes its own models and keys. Screenshots of each main
 * page land in target/screenshots for a person to look at.
 */
class DashboardIT {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "screenshots");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dataDir;
    @TempDir
    static Path profileDir;
    static TestServer server;
    static ChromeDriverService service;
    static WebDriver driver;

    @BeforeAll
    static void start() throws IOException {
        SystemRequirements.require(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "Chromium and its driver are not installed (apt-get install chromium chromium-driver)");
        Files.createDirectories(SCREENSHOTS);
        server = TestServer.start(dataDir);
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profileDir, "--window-size=1280,1000");
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        try {
            if (driver != null) {
                driver.quit();
            }
        } finally {
            if (service != null) {
                service.stop();
            }
            if (server != null) {
                server.close();
            }
        }
    }

    @BeforeEach
    void signIn() {
        driver.manage().window().setSize(new Dimension(1280, 1000));
        open("/login");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        type("login-username", "admin");
        type("login-password", TestServer.ADMIN_PASSWORD);
        click("login-submit");
        visible("page-models");
    }

    @AfterEach
    void dropSession() {
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
    }

    @Test
    void aWrongPasswordIsRefusedInWordsAndTheRightOneSignsInAndOut() {
        click("sign-out");
        visible("login-form");
        screenshot("login");
        type("login-username", "admin");
        type("login-password", "not-the-password");
        click("login-submit");
        assertThat(visible("login-error-detail").getText()).isNotBlank();
        type("login-password", TestServer.ADMIN_PASSWORD);
        click("login-submit");
        visible("page-models");
        assertThat(visible("signed-in-as").getText()).isEqualTo("admin (admin)");
        assertThat((String) ((JavascriptExecutor) driver).executeScript("return location.href")).doesNotContain("token");
    }

    @Test
    void aFailedRegistrationShowsTheProblemDetail() {
        click("sign-out");
        click("to-register");
        type("login-username", "shorty");
        type("login-password", "short");
        click("register-submit");
        assertThat(visible("register-error-detail").getText()).containsIgnoringCase("password");
        screenshot("register-failed");
    }

    @Test
    void theIrisModelUploadsThroughTheWizardAndItsConsoleAnswersLabelZero() throws Exception {
        open("/upload");
        type("upload-model-name", "iris-ui");
        find("upload-file").sendKeys(fixturePath("iris_rf.onnx"));
        click("wizard-next-1");
        click("wizard-next-2");
        assertThat(visible("review-file").getText()).startsWith("iris_rf.onnx");
        click("upload-start");
        WebElement result = visible("upload-result");
        assertThat(find("result-status").getText()).isEqualTo("ready");
        assertThat(find("result-version").getText()).isEqualTo("1");
        assertThat(find("upload-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(result.findElement(By.cssSelector("[data-testid=signature-table]")).getText()).contains("FP32");
        screenshot("upload-result");

        click("result-open-model");
        WebElement body = visible("console-json");
        assertThat(body.getDomProperty("value").replaceAll("\\s", "")).isEqualTo("{\"features\":[0,0,0,0]}");
        assertThat(find("snippet").getText()).contains("/api/v1/models/iris-ui/predict", "curl");
        click("snippet-tab-java");
        assertThat(find("snippet").getText()).contains("HttpRequest.newBuilder");
        body.clear();
        body.sendKeys("{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        click("console-send");
        JsonNode predictions = json(visible("console-output").getText());
        assertThat(predictions.get(0).get("label").asLong()).isEqualTo(0);
        assertThat(find("console-served-version").getText()).isEqualTo("v1");
        assertThat(find("console-latency").getText()).contains("ms");
        screenshot("model");

        open("/models");
        assertThat(visible("model-status-iris-ui").getText()).contains("active", "ready");
        screenshot("models");
        driver.manage().window().setSize(new Dimension(390, 844));
        visible("model-row-iris-ui");
        screenshot("models-phone");
    }

    @Test
    void aPythonModelWhoseRequirementsCannotBeInstalledShowsPipsMessage() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn");
        open("/upload");
        type("upload-model-name", "needs-missing");
        find("upload-file").sendKeys(fixturePath("python/needs_missing_pkg.zip"));
        click("wizard-next-1");
        click("wizard-next-2");
        click("upload-start");
        WebElement message = new WebDriverWait(driver, Duration.ofSeconds(30)).until(
                ExpectedConditions.visibilityOfElementLocated(testId("result-status-message")));
        assertThat(find("upload-error-detail").getText()).contains("serveml-no-such-package");
        assertThat(find("result-status").getText()).isEqualTo("failed");
        assertThat(message.getText()).contains("No matching distribution found");
        screenshot("upload-failed");
    }

    @Test
    void aKeyCreatedInTheDashboardWorksUntilItIsRevokedThere() {
        open("/keys");
        type("key-name", "dashboard-key");
        click("key-scope-models:read");
        click("key-create");
        String key = visible("new-key-value").getText();
        assertThat(key).isNotBlank();
        screenshot("keys");
        assertThat(callModelsWith(key).statusCode()).isEqualTo(200);

        WebElement revoke = driver.findElements(By.cssSelector("[data-testid^=key-revoke-]")).getLast();
        String id = revoke.getDomAttribute("data-testid").substring("key-revoke-".length());
        revoke.click();
        click("key-revoke-confirm-" + id);
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(testId("key-status-" + id), "revoked"));
        HttpResponse<String> refused = callModelsWith(key);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(json(refused).get("code").asText()).isEqualTo("invalid-api-key");
    }

    @Test
    void theServingChartDrawsAfterSomeTraffic() throws Exception {
        assertThat(server.upload("charted", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        open("/models/charted");
        visible("charts");
        AtomicBoolean running = new AtomicBoolean(true);
        Thread traffic = Thread.ofVirtual().start(() -> {
            // Varied rows, so that the model runs (cache hits never reach its latency histogram).
            java.util.Random random = new java.util.Random(7);
            while (running.get()) {
                server.postJson("/api/v1/models/charted/predict", "{\"features\": [" + (4 + random.nextDouble() * 3)
                        + ", 3.5, 1.4, 0.2]}");
            }
        });
        try {
            // The charts are redrawn every few seconds: read attributes in one script call, never
            // through an element handle that the next redraw makes stale.
            new WebDriverWait(driver, WAIT).until(d -> {
                String points = chartAttribute("chart-rps-rps", "data-points");
                String last = chartAttribute("chart-rps-rps", "data-last");
                return points != null && last != null && Integer.parseInt(points) >= 2 && Double.parseDouble(last) > 0;
            });
        } finally {
            running.set(false);
            traffic.join();
        }
        assertThat(chartAttribute("chart-rps-rps", "d")).matches("M[\\d.]+,[\\d.]+( L[\\d.]+,[\\d.]+)+");
        assertThat(chartAttribute("chart-latency-p95", "d")).contains("L");
        screenshot("model-charts");
    }

    @Test
    void theAuditLogFiltersByAction() {
        server.postJson("/api/v1/api-keys", "{\"name\": \"for-audit\", \"scopes\": [\"predict\"]}");
        open("/audit");
        visible("audit-table");
        screenshot("audit");
        type("audit-action", "api_key.created");
        click("audit-apply");
        new WebDriverWait(driver, WAIT).until(d -> !d.findElements(testId("audit-row-action")).isEmpty()
                && d.findElements(testId("audit-row-action")).stream().allMatch(e -> e.getText().equals("api_key.created")));
    }

    private HttpResponse<String> callModelsWith(String key) {
        return server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models"))
                .header("Authorization", "Bearer " + key).GET().build());
    }

    private static String fixturePath(String name) throws URISyntaxException {
        return Path.of(DashboardIT.class.getResource("/fixtures/" + name).toURI()).toAbsolutePath().toString();
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

    private static void screenshot(String name) {
        File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        try {
            Files.copy(shot.toPath(), SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An attribute of the element with this test id, read atomically in the page (null when absent). */
    private static String chartAttribute(String testId, String attribute) {
        Object value = ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "const e = document.querySelector('[data-testid=\"' + arguments[0] + '\"]');"
                        + " return e ? e.getAttribute(arguments[1]) : null;", testId, attribute);
        return value == null ? null : value.toString();
    }
}
