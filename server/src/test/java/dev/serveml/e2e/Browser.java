package dev.serveml.e2e;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

/**
 * The dashboard ITs' real Chromium (headless, through chromedriver) on one server, and the ways
 * they reach its elements: by {@code data-testid}, each wait bounded. Screenshots go to
 * {@code target/screenshots}.
 */
final class Browser implements AutoCloseable {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path SCREENSHOTS = Path.of("target", "screenshots");

    final WebDriver driver;
    private final ChromeDriverService service;
    private final TestServer server;
    private final Duration wait;

    private Browser(ChromeDriverService service, WebDriver driver, TestServer server, Duration wait) {
        this.service = service;
        this.driver = driver;
        this.server = server;
        this.wait = wait;
    }

    /** Skips (or, with SERVEML_REQUIRE_ALL, fails) where Chromium and its driver are not installed. */
    static Browser start(TestServer server, Path profileDir, Dimension window, Duration wait) throws IOException {
        SystemRequirements.require(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "Chromium and its driver are not installed (apt-get install chromium chromium-driver)");
        Files.createDirectories(SCREENSHOTS);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profileDir,
                "--window-size=" + window.getWidth() + "," + window.getHeight());
        try {
            return new Browser(service, new ChromeDriver(service, options), server, wait);
        } catch (RuntimeException e) {
            service.stop();
            throw e;
        }
    }

    void open(String route) {
        driver.get(server.uri("/#" + route).toString());
    }

    static By testId(String id) {
        return By.cssSelector("[data-testid=\"" + id + "\"]");
    }

    WebElement visible(String id) {
        return new WebDriverWait(driver, wait).until(ExpectedConditions.visibilityOfElementLocated(testId(id)));
    }

    WebElement find(String id) {
        return new WebDriverWait(driver, wait).until(ExpectedConditions.presenceOfElementLocated(testId(id)));
    }

    void click(String id) {
        new WebDriverWait(driver, wait).until(ExpectedConditions.elementToBeClickable(testId(id))).click();
    }

    void type(String id, String text) {
        WebElement e = visible(id);
        e.clear();
        e.sendKeys(text);
    }

    /** The whole page at the window's width: the window grows to the page's height for the shot. */
    void screenshotWholePage(String name) {
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

    void screenshot(String name) {
        try {
            Files.copy(((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath(),
                    SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            service.stop();
        }
    }
}
