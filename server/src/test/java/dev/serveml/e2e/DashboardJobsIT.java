package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 16's Jobs page in Chromium (as DashboardIT drives it), on the shared server: a tenant
 * submits the 150 iris rows as a CSV on the page with the id passed through, sees the job's bar
 * reach 100% and its status completed, and downloads the result (Chromium saves it to this
 * class's folder), which holds every row in input order with the model's labels. Another tenant's
 * page does not list the job; a file the server refuses shows the problem's detail. Both tenants
 * are ordinary users (an admin may see more), with the scopes a session gets, predict among them.
 */
class DashboardJobsIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String MODEL = "iris-jobs";
    private static final String OWNER = "jobs-page-owner";
    private static final String STRANGER = "jobs-page-stranger";
    private static final String HEADER = "id,sepal_length,sepal_width,petal_length,petal_width";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    @TempDir
    static Path profileDir;
    @TempDir
    static Path downloads;
    @TempDir
    Path work;
    static TestServer server;
    static Browser browser;
    static WebDriver driver;
    static String ownerToken;
    static JsonNode iris;

    @BeforeAll
    static void start() throws IOException {
        server = shared.server();
        ownerToken = server.newUser(OWNER);
        server.newUser(STRANGER);
        server.useCredential(ownerToken);
        HttpResponse<String> uploaded = server.upload(MODEL, "iris.onnx", TestServer.fixture("iris_rf.onnx"));
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(201);
        iris = json(new String(TestServer.fixture("iris_expected.json"), StandardCharsets.UTF_8));
        browser = Browser.start(server, profileDir, new Dimension(1280, 1000), WAIT);
        driver = browser.driver;
        // Headless Chromium saves a download only where it is told to.
        ((ChromeDriver) driver).executeCdpCommand("Browser.setDownloadBehavior",
                Map.of("behavior", "allow", "downloadPath", downloads.toAbsolutePath().toString()));
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.close();
        }
    }

    @AfterEach
    void dropSession() {
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        server.useCredential(ownerToken);
    }

    private static void signInAs(String username) {
        driver.manage().window().setSize(new Dimension(1280, 1000));
        browser.open("/login");
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.navigate().refresh();
        browser.type("login-username", username);
        browser.type("login-password", "password-of-" + username);
        browser.click("login-submit");
        browser.visible("page-deployments");
    }

    @Test
    void aCsvSubmittedOnTheJobsPageRunsToOneHundredPercentAndItsResultDownloadsWithEveryRowInOrder() throws Exception {
        Path csv = irisCsv("iris-rows.csv");
        signInAs(OWNER);
        browser.click("nav-jobs");
        browser.visible("page-jobs");
        fillTheForm(csv, "10");
        watchTheBars();
        browser.screenshot("jobs-form");
        String job = submit();
        assertThat(job).startsWith("job-");
        browser.visible("job-row-" + job);
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("job-status-" + job), "completed"));
        assertThat(browser.find("job-percent-" + job).getText()).isEqualTo("100%");
        assertThat(browser.find("job-progress-" + job).getDomAttribute("value")).isEqualTo("100");
        assertThat(browser.find("job-rows-" + job).getText()).isEqualTo("150 of 150 rows");
        assertThat(browser.find("job-failed-" + job).getText()).isEqualTo("0 failed");
        assertThat(driver.findElements(Browser.testId("job-cancel-" + job))).as("no cancel once completed").isEmpty();
        browser.visible("job-delete-" + job);
        assertTheBarOnlyMovedForward(job);
        browser.screenshotWholePage("jobs-completed");

        JsonNode view = json(server.get("/api/v1/jobs/" + job));
        assertThat(view.get("status").asText()).isEqualTo("completed");
        assertThat(view.get("model").asText()).isEqualTo(MODEL);
        assertThat(view.get("rows")).isEqualTo(json("{\"total\": 150, \"done\": 150, \"failed\": 0}"));
        assertThat(view.get("input_format").asText()).isEqualTo("csv");
        assertThat(view.get("output_format").asText()).isEqualTo("csv");
        assertThat(view.get("rows_per_call").asInt()).isEqualTo(10);
        assertThat(view.get("priority").asInt()).isZero();
        assertThat(view.get("error").isNull()).as(view.toString()).isTrue();

        Set<Path> before = listed(downloads);
        browser.click("job-download-" + job);
        Path saved = Poll.until(() -> downloaded(before), p -> true, WAIT, "Chromium to save the job's result");
        List<String> lines = Files.readAllLines(saved, StandardCharsets.UTF_8).stream().filter(l -> !l.isEmpty()).toList();
        assertThat(lines).as("a header and the 150 rows").hasSize(151);
        List<String> header = Arrays.asList(lines.getFirst().split(","));
        assertThat(header.getFirst()).isEqualTo("id");
        assertThat(header).as("the pass-through column, then the model's outputs").contains("label")
                .doesNotContain("sepal_length");
        int label = header.indexOf("label");
        List<String> rows = lines.subList(1, lines.size());
        assertThat(rows).extracting(r -> r.split(",")[0])
                .containsExactlyElementsOf(IntStream.rangeClosed(1, 150).mapToObj(String::valueOf).toList());
        assertThat(rows).extracting(r -> r.split(",")[label])
                .containsExactlyElementsOf(stream(iris.get("label")).map(JsonNode::asText).toList());
    }

    @Test
    void anotherTenantsJobsPageDoesNotListTheJob() throws Exception {
        HttpResponse<String> submitted = submitByApi("{\"model\": \"" + MODEL + "\", \"passthrough\": [\"id\"]}",
                "theirs.csv", Files.readAllBytes(irisCsv("theirs.csv")));
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(202);
        String job = json(submitted).get("id").asText();

        signInAs(STRANGER);
        browser.click("nav-jobs");
        browser.visible("jobs-empty");
        assertThat(driver.findElements(Browser.testId("job-row-" + job))).isEmpty();
        assertThat(driver.findElements(By.cssSelector("option[value=\"model:" + MODEL + "\"]")))
                .as("the owner's model is not offered to another tenant").isEmpty();
        browser.screenshot("jobs-stranger");
        server.useCredential(server.login(STRANGER, "password-of-" + STRANGER));
        HttpResponse<String> theirs = server.get("/api/v1/jobs/" + job);
        assertThat(theirs.statusCode()).as(theirs.body()).isEqualTo(404);
        assertThat(json(theirs).get("code").asText()).isEqualTo("job-not-found");

        // The owner's page lists it.
        ((JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        signInAs(OWNER);
        browser.click("nav-jobs");
        assertThat(browser.visible("job-row-" + job).getText()).contains(MODEL);
    }

    @Test
    void aFileTheServerRefusesShowsTheProblemsDetailAndStartsNoJob() throws Exception {
        Path headerOnly = work.resolve("header-only.csv");
        Files.writeString(headerOnly, HEADER + "\n");
        signInAs(OWNER);
        browser.open("/jobs");
        new Select(browser.visible("job-target")).selectByValue("model:" + MODEL);
        browser.visible("jobs-total");
        int listed = listedJobs();
        browser.find("job-file").sendKeys(headerOnly.toAbsolutePath().toString());
        browser.click("job-submit");
        assertThat(browser.visible("job-submit-error-detail").getText()).isNotBlank()
                .doesNotContain("Exception", "/tmp/");
        assertThat(browser.find("job-submit-error").getText()).contains("invalid-job");
        assertThat(driver.findElements(Browser.testId("job-submitted"))).isEmpty();
        assertThat(listedJobs()).isEqualTo(listed);
        browser.screenshot("jobs-refused");
    }

    @Test
    void rowsTheModelCannotReadAreCountedTheirErrorsDownloadAndTheFinishedJobDeletesFromThePage() throws Exception {
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int id = 1; id <= 20; id++) {
            csv.append(id).append(id == 5 || id == 12 ? ",5.1,abc,1.4,0.2\n" : ",5.1,3.5,1.4,0.2\n");
        }
        Path file = work.resolve("two-bad.csv");
        Files.writeString(file, csv);
        signInAs(OWNER);
        browser.open("/jobs");
        fillTheForm(file, null);
        String job = submit();
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("job-status-" + job), "completed"));
        assertThat(browser.find("job-rows-" + job).getText()).isEqualTo("20 of 20 rows");
        assertThat(browser.find("job-failed-" + job).getText()).isEqualTo("2 failed");
        assertThat(browser.find("job-percent-" + job).getText()).isEqualTo("100%");

        Set<Path> before = listed(downloads);
        browser.click("job-download-errors-" + job);
        Path saved = Poll.until(() -> downloaded(before), p -> true, WAIT, "Chromium to save the job's errors");
        List<JsonNode> errors = Files.readAllLines(saved, StandardCharsets.UTF_8).stream().filter(l -> !l.isEmpty())
                .map(TestServer::json).toList();
        assertThat(errors).extracting(e -> e.get("line").asInt()).as("the file's lines, the header being line 1")
                .containsExactly(6, 13);
        assertThat(errors).extracting(e -> e.at("/passthrough/id").asText()).containsExactly("5", "12");
        assertThat(errors).allSatisfy(e -> assertThat(e.at("/problem/detail").asText()).isNotBlank());
        browser.screenshot("jobs-failed-rows");

        browser.click("job-delete-" + job);
        browser.click("job-delete-" + job + "-confirm");
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.numberOfElementsToBe(Browser.testId("job-row-" + job), 0));
        HttpResponse<String> gone = server.get("/api/v1/jobs/" + job);
        assertThat(gone.statusCode()).as(gone.body()).isEqualTo(404);
    }

    @Test
    void aRunningJobCancelsFromThePageAndKeepsTheRowsItHasDone() throws Exception {
        int total = 5_000;
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        JsonNode x = iris.get("X");
        for (int i = 0; i < total; i++) {
            csv.append(i + 1);
            x.get(i % x.size()).forEach(v -> csv.append(',').append(v.asText()));
            csv.append('\n');
        }
        Path file = work.resolve("long.csv");
        Files.writeString(file, csv);
        signInAs(OWNER);
        browser.open("/jobs");
        fillTheForm(file, "5"); // small calls, so that the job still runs when the test cancels it
        String job = submit();

        browser.visible("job-download-partial-" + job);
        Set<Path> before = listed(downloads);
        browser.click("job-download-partial-" + job);
        Path partial = Poll.until(() -> downloaded(before), p -> true, WAIT, "Chromium to save the rows done so far");
        long partialRows = Files.readAllLines(partial, StandardCharsets.UTF_8).stream().filter(l -> !l.isEmpty()).count() - 1;
        assertThat(partialRows).isBetween(1L, (long) total - 1);

        browser.click("job-cancel-" + job);
        new WebDriverWait(driver, WAIT).until(ExpectedConditions.textToBe(Browser.testId("job-status-" + job), "cancelled"));
        assertThat(driver.findElements(Browser.testId("job-cancel-" + job))).isEmpty();
        browser.visible("job-download-" + job);
        browser.visible("job-delete-" + job);
        JsonNode view = json(server.get("/api/v1/jobs/" + job));
        assertThat(view.get("status").asText()).isEqualTo("cancelled");
        long done = view.at("/rows/done").asLong();
        assertThat(done).isBetween(partialRows, (long) total - 1);
        assertThat(browser.find("job-percent-" + job).getText()).isNotEqualTo("100%");
        browser.screenshot("jobs-cancelled");
    }

    /** Chooses the owner's model and the file on the page, with the id passed through. */
    private static void fillTheForm(Path file, String rowsPerCall) {
        new Select(browser.visible("job-target")).selectByValue("model:" + MODEL);
        browser.find("job-file").sendKeys(file.toAbsolutePath().toString());
        browser.type("job-passthrough", "id");
        if (rowsPerCall != null) {
            browser.type("job-rows-per-call", rowsPerCall);
        }
    }

    /** Submits the form and returns the id of the job the page says it started. */
    private static String submit() {
        browser.click("job-submit");
        return browser.visible("job-submitted-id").getText();
    }

    /** The 150 iris rows with an id from 1, as a tenant would export them. */
    private Path irisCsv(String name) throws IOException {
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        JsonNode x = iris.get("X");
        for (int i = 0; i < x.size(); i++) {
            csv.append(i + 1);
            for (JsonNode v : x.get(i)) {
                csv.append(',').append(v.asText());
            }
            csv.append('\n');
        }
        Path file = work.resolve(name);
        Files.writeString(file, csv);
        return file;
    }

    private static HttpResponse<String> submitByApi(String spec, String fileName, byte[] file) {
        String boundary = "serveml-" + UUID.randomUUID();
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"spec\"\r\n\r\n" + spec + "\r\n")
                .getBytes(StandardCharsets.UTF_8);
        byte[] rest = TestServer.multipart(boundary, "file", fileName, file);
        byte[] body = new byte[head.length + rest.length];
        System.arraycopy(head, 0, body, 0, head.length);
        System.arraycopy(rest, 0, body, head.length, rest.length);
        return server.post("/api/v1/jobs", "multipart/form-data; boundary=" + boundary, body);
    }

    private static int listedJobs() {
        return driver.findElements(By.cssSelector("[data-testid^=\"job-row-\"]")).size();
    }

    /** Records each value the page gives each job's bar (-1 while it is indeterminate), rows drawn anew included. */
    private static void watchTheBars() {
        ((JavascriptExecutor) driver).executeScript("""
                window.jobBars = [];
                const note = el => window.jobBars.push([el.dataset.testid,
                    el.hasAttribute('value') ? Number(el.getAttribute('value')) : -1]);
                const bars = n => n.querySelectorAll ? n.querySelectorAll('progress[data-testid^="job-progress-"]') : [];
                new MutationObserver(changes => {
                  for (const c of changes) {
                    if (c.type === 'attributes' && c.target.matches('progress[data-testid^="job-progress-"]')) note(c.target);
                    for (const n of c.addedNodes || []) bars(n).forEach(note);
                  }
                }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['value'] });
                """);
    }

    private static void assertTheBarOnlyMovedForward(String job) {
        @SuppressWarnings("unchecked")
        List<List<Object>> seen = (List<List<Object>>) ((JavascriptExecutor) driver).executeScript("return window.jobBars");
        List<Long> values = seen.stream().filter(s -> s.get(0).equals("job-progress-" + job))
                .map(s -> ((Number) s.get(1)).longValue()).toList();
        assertThat(values).as("the bar's values").isNotEmpty().allSatisfy(v -> assertThat(v).isBetween(-1L, 100L));
        int known = IntStream.range(0, values.size()).filter(i -> values.get(i) >= 0).findFirst().orElse(values.size());
        List<Long> determinate = values.subList(known, values.size());
        assertThat(determinate).as("indeterminate only before the total is known; never backwards: " + values)
                .isSorted().doesNotContain(-1L);
        assertThat(values.getLast()).isEqualTo(100L);
    }

    private static Set<Path> listed(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.collect(Collectors.toSet());
        }
    }

    /** The file Chromium has finished saving since {@code before}, or null while it is still writing. */
    private static Path downloaded(Set<Path> before) {
        try {
            List<Path> added = listed(downloads).stream().filter(p -> !before.contains(p)).toList();
            if (added.size() != 1 || added.getFirst().toString().endsWith(".crdownload")) {
                return null;
            }
            return added.getFirst();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Stream<JsonNode> stream(JsonNode array) {
        List<JsonNode> items = new ArrayList<>();
        array.forEach(items::add);
        return items.stream();
    }
}
