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
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
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
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    @TempDir
    static Path profileDir;
    static TestServer server;
    static Browser browser;
    static WebDriver driver;

    @BeforeAll
    static void start() throws IOException {
        server = shared.server();
        browser = Browser.start(server, profileDir, new Dimension(1280, 1000), WAIT);
        driver = browser.driver;
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.close();
        }
    }

    @BeforeEach
    void signIn() {
        driver.manage().window().setSize(new Dimension(1280, 1000));
        browser.open("/login");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        signInAs("admin", TestServer.ADMIN_PASSWORD);
    }

    private static void signInAs(String username, String password) {
        browser.type("login-username", username);
        browser.type("login-password", password);
        browser.click("login-submit");
        browser.visible("page-deployments");
    }

    @AfterEach
    void dropSession() {
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
    }

    @Test
    void withAuthenticationOffTheDashboardNeedsNoSignInAndABannerSaysSo(@TempDir Path openDir) {
        try (TestServer open = TestServer.start(openDir, java.util.Map.of("SERVEML_AUTH", "off"))) {
            driver.get(open.uri("/#/login").toString());
            browser.visible("page-deployments");
            assertThat(browser.visible("auth-off-banner").getText()).contains("Authentication is off", "SERVEML_AUTH=off",
                    "admin");
            assertThat(driver.findElements(Browser.testId("login-form"))).isEmpty();
            assertThat(driver.findElements(Browser.testId("sign-out"))).isEmpty();
            browser.click("nav-models");
            browser.visible("page-models");
            browser.click("nav-audit");
            browser.visible("page-audit");
            assertThat(driver.findElements(Browser.testId("needs-admin"))).isEmpty();
            browser.screenshot("auth-off");
        }
    }

    @Test
    void aWrongPasswordIsRefusedInWordsAndTheRightOneSignsInAndOut() {
        browser.click("sign-out");
        browser.visible("login-form");
        browser.screenshot("login");
        browser.type("login-username", "admin");
        browser.type("login-password", "not-the-password");
        browser.click("login-submit");
        assertThat(browser.visible("login-error-detail").getText()).isNotBlank();
        browser.type("login-password", TestServer.ADMIN_PASSWORD);
        browser.click("login-submit");
        browser.visible("page-deployments");
        assertThat(browser.visible("signed-in-as").getText()).isEqualTo("admin (admin)");
        assertThat((String) ((JavascriptExecutor) driver).executeScript("return location.href")).doesNotContain("token");
    }

    @Test
    void aFailedRegistrationShowsTheProblemDetail() {
        browser.click("sign-out");
        browser.click("to-register");
        browser.type("login-username", "shorty");
        browser.type("login-password", "short");
        browser.click("register-submit");
        assertThat(browser.visible("register-error-detail").getText()).containsIgnoringCase("password");
        browser.screenshot("register-failed");
    }

    @Test
    void theUploadWizardRefusesANameTheServerWouldRefuseAndTakesTheLongestItAccepts() throws Exception {
        browser.open("/upload");
        browser.find("upload-file").sendKeys(fixturePath("iris_rf.onnx"));
        browser.type("upload-model-name", "n".repeat(65));
        browser.click("wizard-next-1");
        // Refused by the form (the input's pattern, or the wizard's own check): still on step one.
        boolean refusedByPattern = !(Boolean) ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "return document.querySelector('[data-testid=upload-model-name]').checkValidity()");
        if (!refusedByPattern) {
            assertThat(browser.visible("wizard-invalid").getText()).contains("1-64 characters");
        }
        assertThat(driver.findElements(Browser.testId("wizard-next-2"))).isEmpty();

        browser.type("upload-model-name", "n".repeat(64));
        browser.click("wizard-next-1");
        assertThat(browser.visible("wizard-next-2").isDisplayed()).isTrue();
    }

    @Test
    void theIrisModelUploadsThroughTheWizardAndItsConsoleAnswersLabelZero() throws Exception {
        browser.open("/upload");
        browser.type("upload-model-name", "iris-ui");
        browser.find("upload-file").sendKeys(fixturePath("iris_rf.onnx"));
        browser.click("wizard-next-1");
        browser.click("wizard-next-2");
        assertThat(browser.visible("review-file").getText()).startsWith("iris_rf.onnx");
        browser.click("upload-start");
        WebElement result = browser.visible("upload-result");
        assertThat(browser.find("result-status").getText()).isEqualTo("ready");
        assertThat(browser.find("result-version").getText()).isEqualTo("1");
        assertThat(browser.find("upload-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(result.findElement(By.cssSelector("[data-testid=signature-table]")).getText()).contains("FP32");
        browser.screenshot("upload-result");

        browser.click("result-open-model");
        WebElement body = browser.visible("console-json");
        assertThat(body.getDomProperty("value").replaceAll("\\s", "")).isEqualTo("{\"features\":[0,0,0,0]}");
        assertThat(browser.find("snippet").getText()).contains("/api/v1/models/iris-ui/predict", "curl");
        browser.click("snippet-tab-java");
        assertThat(browser.find("snippet").getText()).contains("HttpRequest.newBuilder");
        theConsoleAnswersTheFirstIrisRowWithLabelZeroFromV1(body);
        browser.screenshot("model");

        browser.open("/models");
        assertThat(browser.visible("model-status-iris-ui").getText()).contains("active", "ready");
        browser.screenshot("models");
        driver.manage().window().setSize(new Dimension(390, 844));
        browser.visible("model-row-iris-ui");
        browser.screenshot("models-phone");
    }

    @Test
    void aPythonModelWhoseRequirementsCannotBeInstalledShowsPipsMessage() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn");
        browser.open("/upload");
        browser.type("upload-model-name", "needs-missing");
        browser.find("upload-file").sendKeys(fixturePath("python/needs_missing_pkg.zip"));
        browser.click("wizard-next-1");
        browser.click("wizard-next-2");
        browser.click("upload-start");
        pipsMessageIsShown();
        browser.screenshot("upload-failed");
    }

    @Test
    void aKeyCreatedInTheDashboardWorksUntilItIsRevokedThere() {
        browser.open("/keys");
        browser.type("key-name", "dashboard-key");
        browser.click("key-scope-models:read");
        browser.click("key-create");
        String key = browser.visible("new-key-value").getText();
        assertThat(key).isNotBlank();
        browser.screenshot("keys");
        assertThat(callModelsWith(key).statusCode()).isEqualTo(200);

        WebElement revoke = driver.findElements(By.cssSelector("[data-testid^=key-revoke-]")).getLast();
        String id = revoke.getDomAttribute("data-testid").substring("key-revoke-".length());
        revoke.click();
        browser.click("key-revoke-confirm-" + id);
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("key-status-" + id), "revoked"));
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
            browser.click("sign-out");
            signInAs("charter", "password-of-charter");
            assertThat(browser.visible("signed-in-as").getText()).isEqualTo("charter");
            browser.open("/models/charted");
            browser.visible("charts-empty");
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
        assertThat(browser.visible("chart-latency-p95-now").getText()).matches("p95 [\\d.]+ ms");
        assertThat(driver.findElements(Browser.testId("charts-error"))).isEmpty();
        browser.screenshotWholePage("model-charts");
    }

    @Test
    void theIrisModelDeploysThroughTheWizardTurnsActiveAndItsConsoleAnswersLabelZero() throws Exception {
        browser.open("/deploy");
        browser.visible("wizard-step-1");
        browser.type("wizard-model-name", "iris-wiz");
        browser.find("wizard-file").sendKeys(fixturePath("iris_rf.onnx"));
        browser.screenshot("deploy-1-model");
        browser.click("wizard-next-1");
        browser.type("wizard-max-batch-size", "8");
        browser.type("wizard-warmup", "{\"features\": [5.1, 3.5, 1.4");
        browser.click("wizard-next-2");
        assertThat(browser.visible("wizard-invalid").getText()).contains("warm-up sample is not JSON");
        browser.type("wizard-warmup", "{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        browser.screenshot("deploy-2-resources");
        browser.click("wizard-next-2");
        browser.type("wizard-env", "LOG_LEVEL=info");
        browser.screenshot("deploy-3-dependencies");
        browser.click("wizard-next-3");
        browser.type("wizard-deployment-name", "iris-web");
        assertThat(browser.visible("review-model").getText()).contains("iris-wiz", "iris_rf.onnx");
        browser.screenshot("deploy-4-review");
        browser.click("wizard-next-4");

        assertThat(browser.visible("rollout-active").getText()).contains("Active");
        assertThat(browser.find("upload-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(browser.find("rollout-progress").getDomProperty("value")).isEqualTo("100");
        assertThat(browser.find("rollout-status-badge").getText()).isEqualTo("active");
        assertThat(browser.find("rollout-steps").getText()).contains("created");
        browser.screenshot("deploy-progress");

        browser.click("open-deployment");
        assertThat(browser.visible("deployment-status").getText()).isEqualTo("active");
        assertThat(browser.find("endpoint-url").getText()).endsWith("/api/v1/deployments/iris-web/predict");
        browser.click("snippet-tab-python");
        assertThat(browser.find("snippet").getText()).contains("requests.post", "/api/v1/deployments/iris-web/predict");
        assertThat(browser.find("deployment-config").getText()).contains("up to 8 rows", "LOG_LEVEL");
        assertThat(json(server.get("/api/v1/deployments/iris-web")).get("config").get("warmup"))
                .isEqualTo(json("{\"features\": [5.1, 3.5, 1.4, 0.2]}"));
        WebElement body = browser.visible("console-json");
        assertThat(body.getDomProperty("value").replaceAll("\\s", "")).isEqualTo("{\"features\":[0,0,0,0]}");
        theConsoleAnswersTheFirstIrisRowWithLabelZeroFromV1(body);
        browser.screenshotWholePage("deployment");

        browser.open("/deployments");
        assertThat(browser.visible("deployment-status-iris-web").getText()).isEqualTo("active");
        assertThat(browser.find("deployment-policy-iris-web").getText()).isEqualTo("v1 100%");
        new WebDriverWait(driver, WAIT).until(d -> d.findElement(Browser.testId("deployment-figures-iris-web")).getText()
                .contains("/min"));
        browser.screenshot("deployments");
        driver.manage().window().setSize(new Dimension(390, 844));
        browser.visible("deployment-row-iris-web");
        browser.screenshot("deployments-phone");
        browser.open("/deployments/iris-web");
        browser.visible("console-json");
        browser.screenshotWholePage("deployment-phone");
    }

    @Test
    void aPythonModelWhoseRequirementsCannotBeInstalledShowsPipsMessageInTheWizard() throws Exception {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn");
        browser.open("/deploy");
        browser.type("wizard-model-name", "needs-missing-wiz");
        browser.find("wizard-file").sendKeys(fixturePath("python/needs_missing_pkg.zip"));
        browser.click("wizard-next-1");
        browser.click("wizard-next-2");
        assertThat(browser.visible("wizard-requirements").isDisplayed()).isTrue();
        browser.click("wizard-next-3");
        browser.click("wizard-next-4");
        pipsMessageIsShown();
        browser.visible("wizard-retry");
        browser.screenshot("deploy-failed");
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
        browser.open("/deployments/canary-web");
        assertThat(browser.visible("deployment-policy").getText()).isEqualTo("v1 100%");
        browser.type("weight-1", "90");
        browser.type("weight-2", "10");
        browser.click("policy-save");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("deployment-policy"), "v1 90% · v2 10%"));
        assertThat(browser.visible("deployment-flash").getText()).contains("done");
        assertThat(json(server.get("/api/v1/deployments/canary-web")).get("policy")).isEqualTo(
                json("{\"versions\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 10}]}"));
        browser.visible("member-row-2");
        browser.screenshotWholePage("deployment-canary");

        browser.click("deployment-rollback");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("deployment-policy"), "v1 100%"));
    }

    @Test
    void theResourcesChangedOnTheDeploymentPageRollOutAndAreShown() {
        assertThat(server.upload("tuned", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"tuned-web\", \"model\": "
                + "\"tuned\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("tuned-web", "active");
        browser.open("/deployments/tuned-web");
        browser.click("config-edit");
        browser.type("config-instances", "2");
        browser.type("config-max-batch-size", "8");
        new Select(browser.visible("config-cache")).selectByVisibleText("Off");
        browser.screenshot("deployment-config-form");
        browser.click("config-save");

        assertThat(browser.visible("deployment-flash").getText()).contains("done");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("deployment-cache"), "off"));
        JsonNode config = json(server.get("/api/v1/deployments/tuned-web")).get("config");
        assertThat(config.get("instances").asInt()).isEqualTo(2);
        assertThat(config.get("max_batch_size").asInt()).isEqualTo(8);
        assertThat(config.get("cache").get("enabled").asBoolean()).isFalse();
        assertThat(browser.visible("deployment-config").getText()).contains("up to 8 rows");
    }

    @Test
    void aModelDeletedOnItsPageCanBeRestoredThere() {
        assertThat(server.upload("doomed", "iris.onnx", TestServer.fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        browser.open("/models/doomed");
        browser.click("model-delete");
        browser.click("model-delete-confirm");
        browser.visible("model-deleted");
        assertThat(server.get("/api/v1/models/doomed").statusCode()).isEqualTo(404);
        browser.screenshot("model-deleted");
        browser.click("model-restore");
        assertThat(browser.visible("model-flash").getText()).contains("restored");
        assertThat(server.get("/api/v1/models/doomed").statusCode()).isEqualTo(200);
    }

    @Test
    void theAuditLogFiltersByAction() {
        server.postJson("/api/v1/api-keys", "{\"name\": \"for-audit\", \"scopes\": [\"predict\"]}");
        browser.open("/audit");
        browser.visible("audit-table");
        browser.screenshot("audit");
        browser.type("audit-action", "api_key.created");
        browser.click("audit-apply");
        new WebDriverWait(driver, WAIT).until(d -> !d.findElements(Browser.testId("audit-row-action")).isEmpty()
                && d.findElements(Browser.testId("audit-row-action")).stream().allMatch(e -> e.getText().equals("api_key.created")));
    }

    @Test
    void aTextClassificationDeploymentsConsoleDrawsABarPerLabelWithItsScore() {
        HttpResponse<String> uploaded = server.upload("sst2-dash", "bert-tiny-sst2.zip", RepoZip.of("bert-tiny-sst2").bytes());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"sst2-web\", \"model\": "
                + "\"sst2-dash\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("sst2-web", "active");
        browser.open("/deployments/sst2-web");
        assertThat(browser.visible("console-text-form").getDomAttribute("data-task")).isEqualTo("text-classification");
        assertThat(browser.find("snippet").getText()).contains("\"inputs\"", "top_k");

        List<WebElement> bars = sendText("I loved this movie!");
        assertThat(bars).extracting(b -> b.getDomAttribute("data-label")).containsExactly("POSITIVE", "NEGATIVE");
        double positive = Double.parseDouble(bars.get(0).getDomAttribute("data-score"));
        double negative = Double.parseDouble(bars.get(1).getDomAttribute("data-score"));
        assertThat(positive).isGreaterThan(negative);
        assertThat(positive + negative).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-3));
        assertThat(bars.get(0).findElement(By.tagName("meter")).getDomProperty("value")).startsWith("0.");
        assertThat(browser.find("console-output").getDomProperty("textContent")).contains("\"label\": \"POSITIVE\"");
        browser.screenshotWholePage("deployment-text-console");
    }

    @Test
    void aLabelOrATextThatLooksLikeHtmlIsShownAsTextInTheConsoleNeverRunAsMarkup() {
        String payload = "<img src=x onerror=window.__xss=1>";
        String config = new String(TestServer.fixture("hf/bert-tiny-sst2/config.json"), StandardCharsets.UTF_8)
                .replace("\"NEGATIVE\"", "\"" + payload + "\"");
        HttpResponse<String> uploaded = server.upload("xss-labels-dash", "repo.zip", RepoZip.of("bert-tiny-sst2")
                .with("bert-tiny-sst2/config.json", config.getBytes(StandardCharsets.UTF_8)).bytes());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        browser.open("/models/xss-labels-dash");
        browser.visible("console-text-form");

        List<WebElement> bars = sendText("<b id=bold>not bold</b> " + payload);
        assertThat(bars).extracting(b -> b.findElement(Browser.testId("console-bar-label")).getText()).contains(payload, "POSITIVE");
        assertThat(driver.findElements(By.cssSelector("main img, main b#bold"))).as("the label is text, not an element").isEmpty();
        assertThat(((JavascriptExecutor) driver).executeScript("return window.__xss === undefined")).isEqualTo(true);
    }

    @Test
    void aTokenClassificationModelsConsoleHighlightsTheEntitiesInTheTextAsText() {
        HttpResponse<String> uploaded = server.upload("ner-dash", "bert-tiny-ner.zip", RepoZip.of("bert-tiny-ner").bytes());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        browser.open("/models/ner-dash");
        assertThat(browser.visible("console-text-form").getDomAttribute("data-task")).isEqualTo("token-classification");
        String text = "Unbelievable playing, truly great. <img src=x onerror=window.__xss=2>";
        browser.type("console-text", text);
        browser.click("console-send");
        browser.visible("console-entities");
        List<WebElement> entities = driver.findElements(Browser.testId("console-entity"));
        assertThat(entities).as("the tiny model tags some words").isNotEmpty();
        assertThat(entities).allSatisfy(e -> assertThat(e.getDomAttribute("data-label")).isNotBlank());
        // The text shown, entity labels left out, is the text sent, character for character.
        Object shown = ((JavascriptExecutor) driver).executeScript("const p = document.querySelector("
                + "'[data-testid=console-entities]').cloneNode(true); p.querySelectorAll('.entity-label')"
                + ".forEach(l => l.remove()); return p.textContent;");
        assertThat(shown).isEqualTo(text);
        assertThat(driver.findElements(By.cssSelector("main img"))).isEmpty();
        assertThat(((JavascriptExecutor) driver).executeScript("return window.__xss === undefined")).isEqualTo(true);
        browser.screenshotWholePage("model-ner-console");

        // Offsets count code points as Hugging Face's do: after an emoji (two UTF-16 units in the
        // browser) every mark still covers exactly its entity's characters.
        String emoji = "\uD83D\uDE42\uD83D\uDE42 Unbelievable playing, truly great";
        ((JavascriptExecutor) driver).executeScript("const t = arguments[0]; t.value = arguments[1];"
                + " t.dispatchEvent(new Event('input', {bubbles: true}));", browser.visible("console-text"), emoji);
        browser.click("console-send");
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
        browser.type("console-text", text);
        browser.click("console-send");
        browser.visible("console-bars");
        return driver.findElements(Browser.testId("console-bar"));
    }

    /** The upload's problem names the package and the failed version's message is pip's own. */
    private static void pipsMessageIsShown() {
        WebElement message = new WebDriverWait(driver, Duration.ofSeconds(60)).until(
                ExpectedConditions.visibilityOfElementLocated(Browser.testId("result-status-message")));
        assertThat(browser.find("upload-error-detail").getText()).contains("serveml-no-such-package");
        assertThat(browser.find("result-status").getText()).isEqualTo("failed");
        assertThat(message.getText()).contains("No matching distribution found");
    }

    /** Sends iris row 5.1, 3.5, 1.4, 0.2 from the test console's JSON editor. */
    private static void theConsoleAnswersTheFirstIrisRowWithLabelZeroFromV1(WebElement body) {
        body.clear();
        body.sendKeys("{\"features\": [5.1, 3.5, 1.4, 0.2]}");
        browser.click("console-send");
        JsonNode predictions = json(browser.visible("console-output").getText());
        assertThat(predictions.get(0).get("label").asLong()).isEqualTo(0);
        assertThat(browser.find("console-served-version").getText()).isEqualTo("v1");
        assertThat(browser.find("console-latency").getText()).contains("ms");
    }

    private HttpResponse<String> callModelsWith(String key) {
        return server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models"))
                .header("Authorization", "Bearer " + key).GET().build());
    }

    private static String fixturePath(String name) throws URISyntaxException {
        return Path.of(DashboardIT.class.getResource("/fixtures/" + name).toURI()).toAbsolutePath().toString();
    }









    /** An attribute of the element with this test id, read atomically in the page (null when absent). */
    private static String chartAttribute(String testId, String attribute) {
        Object value = ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "const e = document.querySelector('[data-testid=\"' + arguments[0] + '\"]');"
                        + " return e ? e.getAttribute(arguments[1]) : null;", testId, attribute);
        return value == null ? null : value.toString();
    }
}
