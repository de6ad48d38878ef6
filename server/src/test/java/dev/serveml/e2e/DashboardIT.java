package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
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
import org.openqa.selenium.support.ui.Select;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
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

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
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
        server = shared.server();
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
        }
    }

    @BeforeEach
    void signIn() {
        driver.manage().window().setSize(new Dimension(1280, 1000));
        open("/login");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        signInAs("admin", TestServer.ADMIN_PASSWORD);
    }

    private static void signInAs(String username, String password) {
        type("login-username", username);
        type("login-password", password);
        click("login-submit");
        visible("page-deployments");
    }

    @AfterEach
    void dropSession() {
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
    }

    @Test
    void withAuthenticationOffTheDashboardNeedsNoSignInAndABannerSaysSo(@TempDir Path openDir) {
        try (TestServer open = TestServer.start(openDir, java.util.Map.of("SERVEML_AUTH", "off"))) {
            driver.get(open.uri("/#/login").toString());
            visible("page-deployments");
            assertThat(visible("auth-off-banner").getText()).contains("Authentication is off", "SERVEML_AUTH=off",
                    "admin");
            assertThat(driver.findElements(testId("login-form"))).isEmpty();
            assertThat(driver.findElements(testId("sign-out"))).isEmpty();
            click("nav-models");
            visible("page-models");
            click("nav-audit");
            visible("page-audit");
            assertThat(driver.findElements(testId("needs-admin"))).isEmpty();
            screenshot("auth-off");
        }
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
        visible("page-deployments");
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
    void theUploadWizardRefusesANameTheServerWouldRefuseAndTakesTheLongestItAccepts() throws Exception {
        open("/upload");
        find("upload-file").sendKeys(fixturePath("iris_rf.onnx"));
        type("upload-model-name", "n".repeat(65));
        click("wizard-next-1");
        // Refused by the form (the input's pattern, or the wizard's own check): still on step one.
        boolean refusedByPattern = !(Boolean) ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "return document.querySelector('[data-testid=upload-model-name]').checkValidity()");
        if (!refusedByPattern) {
            assertThat(visible("wizard-invalid").getText()).contains("1-64 characters");
        }
        assertThat(driver.findElements(testId("wizard-next-2"))).isEmpty();

        type("upload-model-name", "n".repeat(64));
        click("wizard-next-1");
        assertThat(visible("wizard-next-2").isDisplayed()).isTrue();
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
        theConsoleAnswersTheFirstIrisRowWithLabelZeroFromV1(body);
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
        pipsMessageIsShown();
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
    void theServingChartDrawsAfterSomeTrafficForAnOwnerWhoIsNotAnAdmin() throws Exception {
        String token = server.newUser("charter");
        server.useCredential(token);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread traffic = null;
        try {
            assertThat(server.upload("charted", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode())
                    .isEqualTo(201);
            click("sign-out");
            signInAs("charter", "password-of-charter");
            assertThat(visible("signed-in-as").getText()).isEqualTo("charter");
            open("/models/charted");
            visible("charts-empty");
            traffic = Thread.ofVirtual().start(() -> {
                // Varied rows, so that the model runs rather than the response cache.
                java.util.Random random = new java.util.Random(7);
                while (running.get()) {
                    server.postJson("/api/v1/models/charted/predict", "{\"features\": [" + (4 + random.nextDouble() * 3)
                            + ", 3.5, 1.4, 0.2]}");
                }
            });
            // The charts are redrawn every few seconds: read attributes in one script call, never
            // through an element handle that the next redraw makes stale.
            new WebDriverWait(driver, WAIT).until(d -> {
                String points = chartAttribute("chart-rps-rps", "data-points");
                String last = chartAttribute("chart-rps-rps", "data-last");
                return points != null && last != null && Integer.parseInt(points) >= 2 && Double.parseDouble(last) > 0;
            });
        } finally {
            running.set(false);
            if (traffic != null) {
                traffic.join();
            }
            server.useCredential(server.adminKey());
        }
        assertThat(chartAttribute("chart-rps-rps", "d")).matches("M[\\d.]+,[\\d.]+( L[\\d.]+,[\\d.]+)+");
        assertThat(chartAttribute("chart-latency-p95", "d")).contains("L");
        // The latest step may hold no calls yet: the legend shows the latest figure, not a dash.
        assertThat(visible("chart-latency-p95-now").getText()).matches("p95 [\\d.]+ ms");
        assertThat(driver.findElements(testId("charts-error"))).isEmpty();
        screenshotWholePage("model-charts");
    }

    @Test
    void theIrisModelDeploysThroughTheWizardTurnsActiveAndItsConsoleAnswersLabelZero() throws Exception {
        open("/deploy");
        visible("wizard-step-1");
        type("wizard-model-name", "iris-wiz");
        find("wizard-file").sendKeys(fixturePath("iris_rf.onnx"));
        screenshot("deploy-1-model");
        click("wizard-next-1");
        type("wizard-max-batch-size", "8");
        type("wizard-warmup", "{\"features\": [5.1, 3.5, 1.4");
        click("wizard-next-2");
        assertThat(visible("wizard-invalid").getText()).contains("warm-up sample is not JSON");
        type("wizard-warmup", "{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        screenshot("deploy-2-resources");
        click("wizard-next-2");
        type("wizard-env", "LOG_LEVEL=info");
        screenshot("deploy-3-dependencies");
        click("wizard-next-3");
        type("wizard-deployment-name", "iris-web");
        assertThat(visible("review-model").getText()).contains("iris-wiz", "iris_rf.onnx");
        screenshot("deploy-4-review");
        click("wizard-next-4");

        assertThat(visible("rollout-active").getText()).contains("Active");
        assertThat(find("upload-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(find("rollout-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(find("rollout-status-badge").getText()).isEqualTo("active");
        assertThat(find("rollout-steps").getText()).contains("created");
        screenshot("deploy-progress");

        click("open-deployment");
        assertThat(visible("deployment-status").getText()).isEqualTo("active");
        assertThat(find("endpoint-url").getText()).endsWith("/api/v1/deployments/iris-web/predict");
        click("snippet-tab-python");
        assertThat(find("snippet").getText()).contains("requests.post", "/api/v1/deployments/iris-web/predict");
        assertThat(find("deployment-config").getText()).contains("up to 8 rows", "LOG_LEVEL");
        assertThat(json(server.get("/api/v1/deployments/iris-web")).get("config").get("warmup"))
                .isEqualTo(json("{\"features\": [5.1, 3.5, 1.4, 0.2]}"));
        WebElement body = visible("console-json");
        assertThat(body.getDomProperty("value").replaceAll("\\s", "")).isEqualTo("{\"features\":[0,0,0,0]}");
        theConsoleAnswersTheFirstIrisRowWithLabelZeroFromV1(body);
        screenshotWholePage("deployment");

        open("/deployments");
        assertThat(visible("deployment-status-iris-web").getText()).isEqualTo("active");
        assertThat(find("deployment-policy-iris-web").getText()).isEqualTo("v1 100%");
        new WebDriverWait(driver, WAIT).until(d -> d.findElement(testId("deployment-figures-iris-web")).getText()
                .contains("/min"));
        screenshot("deployments");
        driver.manage().window().setSize(new Dimension(390, 844));
        visible("deployment-row-iris-web");
        screenshot("deployments-phone");
        open("/deployments/iris-web");
        visible("console-json");
        screenshotWholePage("deployment-phone");
    }

    @Test
    void aPythonModelWhoseRequirementsCannotBeInstalledShowsPipsMessageInTheWizard() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn");
        open("/deploy");
        type("wizard-model-name", "needs-missing-wiz");
        find("wizard-file").sendKeys(fixturePath("python/needs_missing_pkg.zip"));
        click("wizard-next-1");
        click("wizard-next-2");
        assertThat(visible("wizard-requirements").isDisplayed()).isTrue();
        click("wizard-next-3");
        click("wizard-next-4");
        pipsMessageIsShown();
        visible("wizard-retry");
        screenshot("deploy-failed");
    }

    @Test
    void aCanarySplitSetOnTheDeploymentPageIsShownAndRollsBack() {
        for (int i = 0; i < 2; i++) {
            assertThat(server.upload("canary", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        }
        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"canary-web\", \"model\": "
                + "\"canary\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("canary-web", "active");
        open("/deployments/canary-web");
        assertThat(visible("deployment-policy").getText()).isEqualTo("v1 100%");
        type("weight-1", "90");
        type("weight-2", "10");
        click("policy-save");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(testId("deployment-policy"), "v1 90% · v2 10%"));
        assertThat(visible("deployment-flash").getText()).contains("done");
        assertThat(json(server.get("/api/v1/deployments/canary-web")).get("policy")).isEqualTo(
                json("{\"versions\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 10}]}"));
        visible("member-row-2");
        screenshotWholePage("deployment-canary");

        click("deployment-rollback");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(testId("deployment-policy"), "v1 100%"));
    }

    @Test
    void theResourcesChangedOnTheDeploymentPageRollOutAndAreShown() {
        assertThat(server.upload("tuned", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"tuned-web\", \"model\": "
                + "\"tuned\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("tuned-web", "active");
        open("/deployments/tuned-web");
        click("config-edit");
        type("config-instances", "2");
        type("config-max-batch-size", "8");
        new Select(visible("config-cache")).selectByVisibleText("Off");
        screenshot("deployment-config-form");
        click("config-save");

        assertThat(visible("deployment-flash").getText()).contains("done");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(testId("deployment-cache"), "off"));
        JsonNode config = json(server.get("/api/v1/deployments/tuned-web")).get("config");
        assertThat(config.get("instances").asInt()).isEqualTo(2);
        assertThat(config.get("max_batch_size").asInt()).isEqualTo(8);
        assertThat(config.get("cache").get("enabled").asBoolean()).isFalse();
        assertThat(visible("deployment-config").getText()).contains("up to 8 rows");
    }

    @Test
    void aModelDeletedOnItsPageCanBeRestoredThere() {
        assertThat(server.upload("doomed", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        open("/models/doomed");
        click("model-delete");
        click("model-delete-confirm");
        visible("model-deleted");
        assertThat(server.get("/api/v1/models/doomed").statusCode()).isEqualTo(404);
        screenshot("model-deleted");
        click("model-restore");
        assertThat(visible("model-flash").getText()).contains("restored");
        assertThat(server.get("/api/v1/models/doomed").statusCode()).isEqualTo(200);
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

    @Test
    void aTextClassificationDeploymentsConsoleDrawsABarPerLabelWithItsScore() {
        HttpResponse<String> uploaded = server.upload("sst2-dash", "bert-tiny-sst2.zip", RepoZip.of("bert-tiny-sst2").bytes());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"sst2-web\", \"model\": "
                + "\"sst2-dash\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("sst2-web", "active");
        open("/deployments/sst2-web");
        assertThat(visible("console-text-form").getDomAttribute("data-task")).isEqualTo("text-classification");
        assertThat(find("snippet").getText()).contains("\"inputs\"", "top_k");

        List<WebElement> bars = sendText("I loved this movie!");
        assertThat(bars).extracting(b -> b.getDomAttribute("data-label")).containsExactly("POSITIVE", "NEGATIVE");
        double positive = Double.parseDouble(bars.get(0).getDomAttribute("data-score"));
        double negative = Double.parseDouble(bars.get(1).getDomAttribute("data-score"));
        assertThat(positive).isGreaterThan(negative);
        assertThat(positive + negative).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-3));
        assertThat(bars.get(0).findElement(By.tagName("meter")).getDomProperty("value")).startsWith("0.");
        assertThat(find("console-output").getDomProperty("textContent")).contains("\"label\": \"POSITIVE\"");
        screenshotWholePage("deployment-text-console");
    }

    @Test
    void aLabelOrATextThatLooksLikeHtmlIsShownAsTextInTheConsoleNeverRunAsMarkup() {
        String payload = "<img src=x onerror=window.__xss=1>";
        String config = new String(TestServer.fixture("hf/bert-tiny-sst2/config.json"), StandardCharsets.UTF_8)
                .replace("\"NEGATIVE\"", "\"" + payload + "\"");
        HttpResponse<String> uploaded = server.upload("xss-labels-dash", "repo.zip", RepoZip.of("bert-tiny-sst2")
                .with("bert-tiny-sst2/config.json", config.getBytes(StandardCharsets.UTF_8)).bytes());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        open("/models/xss-labels-dash");
        visible("console-text-form");

        List<WebElement> bars = sendText("<b id=bold>not bold</b> " + payload);
        assertThat(bars).extracting(b -> b.findElement(testId("console-bar-label")).getText()).contains(payload, "POSITIVE");
        assertThat(driver.findElements(By.cssSelector("main img, main b#bold"))).as("the label is text, not an element").isEmpty();
        assertThat(((JavascriptExecutor) driver).executeScript("return window.__xss === undefined")).isEqualTo(true);
    }

    @Test
    void aTokenClassificationModelsConsoleHighlightsTheEntitiesInTheTextAsText() {
        HttpResponse<String> uploaded = server.upload("ner-dash", "bert-tiny-ner.zip", RepoZip.of("bert-tiny-ner").bytes());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        open("/models/ner-dash");
        assertThat(visible("console-text-form").getDomAttribute("data-task")).isEqualTo("token-classification");
        String text = "Unbelievable playing, truly great. <img src=x onerror=window.__xss=2>";
        type("console-text", text);
        click("console-send");
        visible("console-entities");
        List<WebElement> entities = driver.findElements(testId("console-entity"));
        assertThat(entities).as("the tiny model tags some words").isNotEmpty();
        assertThat(entities).allSatisfy(e -> assertThat(e.getDomAttribute("data-label")).isNotBlank());
        // The text shown, entity labels left out, is the text sent, character for character.
        Object shown = ((JavascriptExecutor) driver).executeScript("const p = document.querySelector("
                + "'[data-testid=console-entities]').cloneNode(true); p.querySelectorAll('.entity-label')"
                + ".forEach(l => l.remove()); return p.textContent;");
        assertThat(shown).isEqualTo(text);
        assertThat(driver.findElements(By.cssSelector("main img"))).isEmpty();
        assertThat(((JavascriptExecutor) driver).executeScript("return window.__xss === undefined")).isEqualTo(true);
        screenshotWholePage("model-ner-console");

        // Offsets count code points as Hugging Face's do: after an emoji (two UTF-16 units in the
        // browser) every mark still covers exactly its entity's characters.
        String emoji = "\uD83D\uDE42\uD83D\uDE42 Unbelievable playing, truly great";
        ((JavascriptExecutor) driver).executeScript("const t = arguments[0]; t.value = arguments[1];"
                + " t.dispatchEvent(new Event('input', {bubbles: true}));", visible("console-text"), emoji);
        click("console-send");
        JsonNode answer = json(server.postJson("/api/v1/models/ner-dash/predict", "{\"inputs\": \"" + emoji
                + "\", \"parameters\": {\"aggregation_strategy\": \"simple\"}}"));
        assertThat(answer.size()).as(answer.toString()).isPositive();
        List<String> expected = new java.util.ArrayList<>();
        int[] points = emoji.codePoints().toArray();
        answer.forEach(e -> expected.add(new String(points, e.get("start").asInt(),
                e.get("end").asInt() - e.get("start").asInt())));
        new WebDriverWait(driver, Duration.ofSeconds(30)).until(d -> marks().size() == expected.size()
                && marks().getFirst().contains("Unbel") == expected.getFirst().contains("Unbel"));
        assertThat(marks()).isEqualTo(expected);
    }

    /** The console's entity marks' texts, labels left out. */
    @SuppressWarnings("unchecked")
    private static List<String> marks() {
        return (List<String>) ((JavascriptExecutor) driver).executeScript("return [...document.querySelectorAll("
                + "'[data-testid=console-entity]')].map(m => { const c = m.cloneNode(true);"
                + " c.querySelectorAll('.entity-label').forEach(l => l.remove()); return c.textContent; });");
    }

    /** Sends one text from a text-classification console; answers its bars, best first. */
    private static List<WebElement> sendText(String text) {
        type("console-text", text);
        click("console-send");
        visible("console-bars");
        return driver.findElements(testId("console-bar"));
    }

    /** The upload's problem names the package and the failed version's message is pip's own. */
    private static void pipsMessageIsShown() {
        WebElement message = new WebDriverWait(driver, Duration.ofSeconds(60)).until(
                ExpectedConditions.visibilityOfElementLocated(testId("result-status-message")));
        assertThat(find("upload-error-detail").getText()).contains("serveml-no-such-package");
        assertThat(find("result-status").getText()).isEqualTo("failed");
        assertThat(message.getText()).contains("No matching distribution found");
    }

    /** Sends iris row 5.1, 3.5, 1.4, 0.2 from the test console's JSON editor. */
    private static void theConsoleAnswersTheFirstIrisRowWithLabelZeroFromV1(WebElement body) {
        body.clear();
        body.sendKeys("{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        click("console-send");
        JsonNode predictions = json(visible("console-output").getText());
        assertThat(predictions.get(0).get("label").asLong()).isEqualTo(0);
        assertThat(find("console-served-version").getText()).isEqualTo("v1");
        assertThat(find("console-latency").getText()).contains("ms");
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

    /** The whole page at the window's width: the window grows to the page's height for the shot. */
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
