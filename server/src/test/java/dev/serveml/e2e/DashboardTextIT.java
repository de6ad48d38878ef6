package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Issue 15 in the dashboard (Chromium, as DashboardIT drives it): a text-generation model's test
 * console streams its text token by token with the generation parameters as fields, and its Stop
 * button ends the generation; a feature-extraction model's console shows the vector's size and the
 * cosine similarity of two texts; the endpoint card of both, on the model page and on a
 * deployment's, shows the OpenAI Python and JavaScript clients with ServeML's base URL (this
 * origin + /v1) and the model's or deployment's name.
 */
class DashboardTextIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** Counts the text nodes appended to the streamed text, one per token event the console drew. */
    private static final String COUNT_APPENDS = "window.__appends = 0; new MutationObserver(records => records.forEach(r => {"
            + " if (r.target.dataset && r.target.dataset.testid === 'console-generated') window.__appends += r.addedNodes.length; }))"
            + ".observe(document.querySelector('[data-testid=console-result-box]'), {childList: true, subtree: true});";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    @TempDir
    static Path profileDir;
    static TestServer server;
    static Browser browser;
    static WebDriver driver;
    static JsonNode greedy;

    @BeforeAll
    static void start() throws IOException {
        server = shared.server();
        greedy = new ObjectMapper().readTree(DashboardTextIT.class.getResource("/fixtures/hf/expected.json"))
                .at("/generation/greedy/0");
        for (String[] m : new String[][]{{"dt-gpt2", "gpt2-tiny"}, {"dt-encoder", "bert-tiny-encoder"}}) {
            HttpResponse<String> r = server.upload(m[0], m[1] + ".zip", RepoZip.of(m[1]).bytes());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        }
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
        js("sessionStorage.clear()");
        driver.navigate().refresh();
        browser.type("login-username", "admin");
        browser.type("login-password", TestServer.ADMIN_PASSWORD);
        browser.click("login-submit");
        browser.visible("page-deployments");
    }

    @Test
    void aGenerationModelsConsoleStreamsItsTextTokenByTokenWithTheParametersAsFields() {
        browser.open("/models/dt-gpt2");
        assertThat(browser.visible("console-text-form").getDomAttribute("data-task")).isEqualTo("text-generation");
        for (String f : new String[]{"console-max-new-tokens", "console-do-sample", "console-temperature", "console-top-p",
                "console-top-k", "console-seed", "console-stop-strings"}) {
            browser.find(f);
        }
        js(COUNT_APPENDS);
        browser.type("console-text", greedy.get("prompt").asText());
        browser.type("console-max-new-tokens", "12");
        browser.click("console-send");
        assertThat(finish()).isEqualTo("length");
        assertThat(generated()).as("torch's greedy continuation").isEqualTo(greedy.get("generated_text").asText());
        assertThat(js("return window.__appends")).as("one append per token event").isEqualTo(12L);
        browser.screenshotWholePage("model-generation-console");

        // Sampling with the fields set: the same text the route answers unstreamed for those parameters.
        browser.type("console-text", "the cat");
        browser.type("console-max-new-tokens", "10");
        browser.click("console-do-sample");
        browser.type("console-seed", "3");
        browser.type("console-top-k", "20");
        browser.type("console-temperature", "0.8");
        browser.click("console-send");
        finish();
        JsonNode sample = json(server.postJson("/api/v1/models/dt-gpt2/predict", "{\"inputs\": \"the cat\", \"parameters\": "
                + "{\"max_new_tokens\": 10, \"do_sample\": true, \"seed\": 3, \"top_k\": 20, \"temperature\": 0.8, "
                + "\"return_full_text\": false}}"));
        assertThat(generated()).isEqualTo(sample.at("/0/generated_text").asText());

        // Stop aborts the fetch: the server's generation ends (its slot is free) and the console says why it ended.
        browser.click("console-do-sample");
        browser.type("console-text", "Hi");
        browser.type("console-max-new-tokens", "60");
        browser.click("console-send");
        js("document.querySelector('[data-testid=console-stop]')?.click()");
        assertThat(finish()).isIn("stopped", "length");
        assertThat(driver.findElements(Browser.testId("console-stop"))).isEmpty();
        assertThat(browser.find("console-send").isEnabled()).isTrue();
        Pattern gauge = Pattern.compile("serveml_calls_in_flight\\{model=\"dt-gpt2\",version=\"1\"} ([0-9.]+)");
        Poll.until(() -> {
            Matcher m = gauge.matcher(server.get("/metrics").body());
            return m.find() && Double.parseDouble(m.group(1)) == 0;
        }, Duration.ofSeconds(30), "no generation left running for dt-gpt2");
    }

    @Test
    void aPromptOverTheContextIsShownAsTheProblemTheServerAnswered() {
        browser.open("/models/dt-gpt2");
        browser.visible("console-text-form");
        browser.type("console-text", "the cat sat on the mat. ".repeat(12));
        browser.click("console-send");
        assertThat(browser.visible("console-error-detail").getText()).contains("context is 64 tokens");
    }

    @Test
    void theEndpointCardShowsTheOpenAiClientsWithServemlsBaseUrlAndTheName() {
        String base = server.uri("/v1").toString();
        browser.open("/models/dt-gpt2");
        browser.click("snippet-tab-openai-python");
        assertThat(browser.find("snippet").getText()).contains("from openai import OpenAI", "base_url=\"" + base + "\"",
                "model=\"dt-gpt2\"", "client.chat.completions.create", "stream=True", "YOUR_SERVEML_API_KEY");
        browser.click("snippet-tab-openai-js");
        assertThat(browser.find("snippet").getText()).contains("import OpenAI from 'openai'", "baseURL: '" + base + "'",
                "model: \"dt-gpt2\"", "YOUR_SERVEML_API_KEY");

        browser.open("/models/dt-encoder");
        browser.click("snippet-tab-openai-python");
        assertThat(browser.find("snippet").getText()).contains("base_url=\"" + base + "\"", "client.embeddings.create",
                "model=\"dt-encoder\"");

        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"dt-gen\", \"model\": "
                + "\"dt-gpt2\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("dt-gen", "active");
        browser.open("/deployments/dt-gen");
        browser.click("snippet-tab-openai-js");
        assertThat(browser.find("snippet").getText()).contains("baseURL: '" + base + "'", "model: \"dt-gen\"");
        // the deployment's console streams through the deployment's route
        browser.type("console-text", greedy.get("prompt").asText());
        browser.type("console-max-new-tokens", "12");
        browser.click("console-send");
        assertThat(finish()).isEqualTo("length");
        assertThat(generated()).isEqualTo(greedy.get("generated_text").asText());
        browser.screenshotWholePage("deployment-generation-console");
    }

    @Test
    void aFeatureExtractionModelsConsoleShowsTheVectorsSizeAndTheCosineOfTwoTexts() {
        browser.open("/models/dt-encoder");
        assertThat(browser.visible("console-text-form").getDomAttribute("data-task")).isEqualTo("feature-extraction");
        browser.type("console-text", "I loved this movie!");
        browser.type("console-text-2", "The film was dull.");
        browser.click("console-send");
        assertThat(browser.visible("console-dimension").getText()).isEqualTo("32");
        double shown = Double.parseDouble(browser.visible("console-cosine").getDomAttribute("data-value"));
        JsonNode vectors = json(server.postJson("/api/v1/models/dt-encoder/predict",
                "{\"inputs\": [\"I loved this movie!\", \"The film was dull.\"]}"));
        assertThat(shown).isCloseTo(cosine(vectors.get(0), vectors.get(1)), within(1e-5));
        assertThat(browser.find("console-cosine").getText()).matches("-?[01]\\.\\d{4}");
        browser.screenshotWholePage("model-embedding-console");

        browser.type("console-text-2", "I loved this movie!");
        browser.click("console-send");
        new WebDriverWait(driver, WAIT).until(d -> "1.0000".equals(d.findElement(Browser.testId("console-cosine")).getText()));

        // one text alone: the size, no similarity
        browser.visible("console-text-2").clear();
        browser.click("console-send");
        new WebDriverWait(driver, WAIT).until(d -> d.findElements(Browser.testId("console-cosine")).isEmpty());
        assertThat(browser.visible("console-dimension").getText()).isEqualTo("32");
    }

    private static double cosine(JsonNode a, JsonNode b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.size(); i++) {
            dot += a.get(i).asDouble() * b.get(i).asDouble();
            na += a.get(i).asDouble() * a.get(i).asDouble();
            nb += b.get(i).asDouble() * b.get(i).asDouble();
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Waits for the stream to end and answers why it did (length, eos_token, stop_sequence, stopped). */
    private static String finish() {
        return new WebDriverWait(driver, WAIT).until(d -> {
            var status = d.findElements(Browser.testId("console-stream-status"));
            return status.isEmpty() ? null : status.get(0).getDomAttribute("data-finish");
        });
    }

    private static String generated() {
        return (String) js("return document.querySelector('[data-testid=console-generated]').textContent");
    }

    private static Object js(String script) {
        return ((JavascriptExecutor) driver).executeScript(script);
    }
}
