package io.sightline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The dashboard at {@code /} in Debian's headless Chromium, against the running app: a finished 8-item POPE
 * evaluation with two arms shows the API's numbers in its table, tests and item view; a POPE set uploaded through the
 * start form lists the API's problems when it is refused and, once fixed, runs and shows the API's answers; a
 * comparison made through the dashboard's form takes feedback clicks that the API then returns. Screenshots go to
 * target/dashboard*.png. Skipped only where chromium or chromedriver is not installed (CI installs both).
 * <p>
 * Its own app and database (the poll interval differs from the API tests' context), closed after the class: API
 * tests count the generations of their shared database (GenerationApiTest: none with a vcd arm), and this test makes
 * one; closing it spares the tests after it a second live app on the machine.
 */
@DirtiesContext
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000",
                "sightline.eval.poll-interval=200ms"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class DashboardBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration PATIENCE = Duration.ofSeconds(120);
    // the dashboard prints metrics with 3 decimals (static/js/format.js)
    private static final double SHOWN = 0.0005 + 1e-9;
    private static final Pattern INTERVAL = Pattern.compile("(-?[0-9.]+)\\s+\\[(-?[0-9.]+), (-?[0-9.]+)]");

    @LocalServerPort
    int port;
    @Autowired
    WebTestClient http;
    @Autowired
    JsonMapper json;

    private ChromeDriver browser;
    private WebDriverWait wait;

    @BeforeAll
    static void browserInstalled() {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "DashboardBrowserTest skipped: needs " + CHROMIUM + " and " + CHROMEDRIVER
                        + " (Debian: apt-get install chromium chromium-driver)");
    }

    @BeforeEach
    void openBrowser() {
        // explicit driver and browser paths: Selenium Manager would otherwise try to download them
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments("--headless=new",
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--window-size=1400,1700");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        browser = new ChromeDriver(service, options);
        wait = new WebDriverWait(browser, Duration.ofSeconds(30));
    }

    @AfterEach
    void closeBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    void evaluationPagesShowTheApisNumbersAndAnItemsOutputsSideBySide() throws IOException {
        String id = post("/v1/evaluations", Map.of("set", "shapes-v1/pope-adversarial", "limit", 8,
                "arms", List.of(Map.of("intervention", "none"), Map.of("intervention", "vcd")))).get("id").asString();
        JsonNode evaluation = awaitCompleted(id);
        JsonNode report = evaluation.get("report");

        browser.get(base() + "/");
        WebElement row = wait.until(ExpectedConditions.visibilityOfElementLocated(
                By.cssSelector("#evaluations tr[data-id='" + id + "']")));
        assertThat(row.findElement(By.cssSelector(".status")).getText()).isEqualTo("completed");
        assertThat(row.findElement(By.cssSelector(".progress")).getText()).isEqualTo("8/8");
        assertThat(new Select(browser.findElement(By.id("eval-set"))).getOptions())
                .extracting(o -> o.getAttribute("value")).contains("shapes-v1/pope-adversarial");

        row.findElement(By.tagName("a")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("arm-metrics")));
        for (JsonNode arm : report.get("arms")) {
            List<WebElement> cells = browser.findElements(
                    By.cssSelector("#arm-metrics tr[data-arm='" + arm.get("arm").asInt() + "'] td[data-metric]"));
            assertThat(cells).hasSize(arm.get("metrics").size());
            for (WebElement cell : cells) {
                JsonNode expected = arm.get("metrics").get(cell.getAttribute("data-metric"));
                Matcher shown = INTERVAL.matcher(cell.getText());
                assertThat(shown.matches()).as("cell text %s", cell.getText()).isTrue();
                assertThat(Double.parseDouble(shown.group(1))).isCloseTo(expected.get("point").asDouble(), within(SHOWN));
                assertThat(Double.parseDouble(shown.group(2))).isCloseTo(expected.get("lower").asDouble(), within(SHOWN));
                assertThat(Double.parseDouble(shown.group(3))).isCloseTo(expected.get("upper").asDouble(), within(SHOWN));
            }
        }
        JsonNode test = report.get("comparisons").get(0);
        String p = browser.findElement(By.cssSelector("#comparisons td.p-value")).getText();
        double pValue = test.get("p_value").asDouble();
        if (pValue < 0.001) {
            assertThat(p).isEqualTo("< 0.001");
        } else {
            assertThat(Double.parseDouble(p)).isCloseTo(pValue, within(SHOWN));
        }
        // accuracy: higher is better; the difference is arm 1 minus arm 0
        double difference = test.get("difference").asDouble();
        String verdict = browser.findElement(By.id("verdict")).getText();
        if (difference == 0) {
            assertThat(verdict).startsWith("No arm differs from another on accuracy");
        } else {
            assertThat(verdict).startsWith("Best on accuracy: " + (difference > 0 ? "vcd (arm 1)" : "none (arm 0)"))
                    .contains(pValue < 0.05 ? "significantly better than" : "but not significantly");
        }
        assertThat(browser.findElements(By.cssSelector("svg.chart"))).hasSize(2);
        screenshot("dashboard.png");

        // the first item some arm got wrong, so that a highlighted hallucination or miss is on the page
        JsonNode items = get("/v1/evaluations/" + id + "/items?size=8").get("items");
        JsonNode item = items.get(0);
        for (JsonNode candidate : items) {
            if (candidate.get("results").valueStream().anyMatch(r -> !r.get("scores").get("correct").asBoolean())) {
                item = candidate;
                break;
            }
        }
        int index = item.get("index").asInt();
        browser.findElement(By.id("items-link")).click();
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#items tbody tr"), 8));
        browser.findElement(By.cssSelector("#items tr[data-index='" + index + "'] a")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("item")));
        wait.until(b -> ((Number) ((JavascriptExecutor) b).executeScript(
                "return document.querySelector('#item img.large').naturalWidth")).intValue() > 0);
        for (JsonNode result : item.get("results")) {
            WebElement output = browser.findElement(By.cssSelector(".output[data-arm='" + result.get("arm").asInt() + "']"));
            assertThat(output.findElement(By.cssSelector(".text")).getText()).isEqualTo(result.get("answer").asString());
            JsonNode scores = result.get("scores");
            String outcome = scores.get("correct").asBoolean() ? "right"
                    : scores.get("answered_yes").asBoolean() ? "hallucination" : "miss";
            assertThat(output.findElement(By.cssSelector(".text mark")).getAttribute("class")).isEqualTo(outcome);
        }
        screenshot("dashboard-item.png");
        assertNoBrowserErrors();
    }

    @Test
    void aComparisonMadeInTheDashboardTakesFeedbackThatTheApiStores() throws IOException {
        browser.get(base() + "/#/live");
        WebElement form = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("compare")));
        form.findElement(By.id("compare-image")).sendKeys(Path.of("onnx-models/samples/scene-b.png").toAbsolutePath().toString());
        form.findElement(By.cssSelector("button[type='submit']")).click();
        wait.until(ExpectedConditions.textToBe(By.cssSelector("#compare .form-status"), "done"));

        JsonNode generation = get("/v1/generations?size=1").get("items").get(0);
        assertThat(generation.get("outputs").valueStream().map(o -> o.get("intervention").asString()))
                .containsExactly("none", "vcd");
        String id = generation.get("id").asString();
        WebElement card = wait.until(ExpectedConditions.visibilityOfElementLocated(
                By.cssSelector("article.generation[data-id='" + id + "']")));
        for (JsonNode output : generation.get("outputs")) {
            assertThat(card.findElement(By.cssSelector(".output[data-arm='" + output.get("arm").asInt() + "'] .text"))
                    .getText()).isEqualTo(output.get("text").asString());
        }

        WebElement prefer = card.findElement(By.cssSelector(".output[data-arm='1'] button.prefer"));
        prefer.click();
        wait.until(ExpectedConditions.attributeContains(prefer, "class", "saved"));
        WebElement hallucinates = card.findElement(By.cssSelector(".output[data-arm='0'] button.hallucinated"));
        hallucinates.click();
        wait.until(ExpectedConditions.attributeContains(hallucinates, "class", "saved"));

        JsonNode feedback = get("/v1/generations/" + id + "/feedback");
        assertThat(feedback.valueStream().map(f -> f.get("preferred_arm")).filter(JsonNode::isNumber)
                .map(JsonNode::asInt)).containsExactly(1);
        assertThat(feedback.valueStream().flatMap(f -> f.get("arms").valueStream())
                .map(a -> a.get("arm").asInt() + ":" + a.get("hallucinated").asBoolean())).containsExactly("0:true");

        // the summary the page shows after the clicks is the API's
        JsonNode summary = get("/v1/experiments/summary");
        wait.until(b -> {
            WebElement vcd = b.findElement(By.cssSelector("#summary tr[data-intervention='vcd']"));
            JsonNode arm = summary.get("arms").valueStream()
                    .filter(a -> a.get("intervention").asString().equals("vcd")).findFirst().orElseThrow();
            return vcd.getText().contains(arm.get("wins").asLong() + " / " + arm.get("preferences").asLong());
        });
        screenshot("dashboard-live.png");
        assertNoBrowserErrors();
    }

    @Test
    void aSetUploadedThroughTheFormRunsAndShowsTheApisAnswersAfterItsProblemsAreListed(@TempDir Path dir)
            throws IOException {
        Path images = Path.of("onnx-models/benchmarks/shapes-v1/images").toAbsolutePath();
        String first = "{\"question_id\": 1, \"image\": \"500005.png\", \"text\": \"is there a cross in the image ?\", "
                + "\"label\": \"yes\", \"object\": \"cross\"}";
        String third = "{\"question_id\": 3, \"image\": \"500014.png\", \"text\": \"is there a cross in the image ?\", "
                + "\"label\": \"no\", \"object\": \"cross\"}";
        String second = "{\"question_id\": 2, \"image\": \"500014.png\", \"text\": \"is there a star in the image ?\", "
                + "\"label\": \"%s\", \"object\": \"star\"}";
        Path refused = Files.writeString(dir.resolve("refused.jsonl"),
                String.join("\n", first, second.formatted("maybe"), third) + "\n");
        Path items = Files.writeString(dir.resolve("items.jsonl"),
                String.join("\n", first, second.formatted("yes"), third) + "\n");
        long evaluations = get("/v1/evaluations?size=1").get("total").asLong();

        // a bad label, and 500014.png not chosen: the form lists every problem of the API's invalid-set by location
        startUpload("form-pope", refused, images.resolve("500005.png"));
        List<WebElement> problems = wait.until(ExpectedConditions.numberOfElementsToBeMoreThan(
                By.cssSelector("#start-evaluation .problem li"), 0));
        assertThat(problems).extracting(li -> li.getAttribute("data-field"))
                .containsExactlyInAnyOrder("items[1].label", "items[1].image", "items[2].image");
        assertThat(browser.findElement(By.cssSelector("#start-evaluation .problem")).getText())
                .startsWith("the uploaded set has 3 problems");
        screenshot("dashboard-upload-refused.png");
        assertThat(browser.manage().logs().get(LogType.BROWSER).getAll())
                .filteredOn(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
                .extracting(LogEntry::getMessage).singleElement().asString().contains("status of 422");
        assertThat(get("/v1/evaluations?size=1").get("total").asLong()).isEqualTo(evaluations);

        startUpload("form-pope", items, images.resolve("500005.png"), images.resolve("500014.png"));
        wait.until(ExpectedConditions.urlMatches("#/evaluations/[0-9a-f-]{36}$"));
        String id = browser.getCurrentUrl().substring(browser.getCurrentUrl().lastIndexOf('/') + 1);
        new WebDriverWait(browser, PATIENCE).until(ExpectedConditions.textToBe(By.id("eval-status"), "completed"));
        JsonNode evaluation = get("/v1/evaluations/" + id);
        assertThat(evaluation.get("status").asString()).isEqualTo("completed");
        assertThat(evaluation.get("set").asString()).isEqualTo("upload/form-pope");
        assertThat(evaluation.get("kind").asString()).isEqualTo("pope");
        assertThat(evaluation.get("request").get("arms").valueStream().map(a -> a.get("intervention").asString()))
                .containsExactly("none", "vcd");
        assertThat(browser.findElement(By.cssSelector(".progress")).getText()).isEqualTo("3/3");

        JsonNode answered = get("/v1/evaluations/" + id + "/items?size=20");
        assertThat(answered.get("total").asInt()).isEqualTo(3);
        browser.findElement(By.id("items-link")).click();
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#items tbody tr"), 3));
        for (JsonNode item : answered.get("items")) {
            WebElement row = browser.findElement(
                    By.cssSelector("#items tr[data-index='" + item.get("index").asInt() + "']"));
            assertThat(item.get("results")).hasSize(2);
            for (JsonNode result : item.get("results")) {
                WebElement answer = row.findElement(By.cssSelector("td[data-arm='" + result.get("arm").asInt() + "']"));
                assertThat(answer.getText()).isEqualTo(result.get("answer").asString());
            }
        }
        screenshot("dashboard-upload.png");
        assertNoBrowserErrors();
    }

    /** Fills the start form of a freshly loaded page with an uploaded POPE set and arms none and vcd, and submits. */
    private void startUpload(String name, Path items, Path... images) {
        browser.get(base() + "/");
        WebElement form = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("start-evaluation")));
        form.findElement(By.cssSelector("input[name='source'][value='upload']")).click();
        assertThat(form.findElement(By.id("eval-set")).isDisplayed()).isFalse();
        form.findElement(By.id("upload-name")).sendKeys(name);
        new Select(form.findElement(By.id("upload-kind"))).selectByValue("pope");
        form.findElement(By.id("upload-items")).sendKeys(items.toString());
        // a multiple file input takes its files as one newline-separated list
        form.findElement(By.id("upload-images")).sendKeys(Stream.of(images).map(Path::toString)
                .collect(Collectors.joining("\n")));
        form.findElement(By.cssSelector("input[name='arm'][value='vcd']")).click();
        form.findElement(By.cssSelector("button[type='submit']")).click();
    }

    private String base() {
        return "http://localhost:" + port;
    }

    private void screenshot(String name) throws IOException {
        Path target = Path.of("target", name);
        Files.createDirectories(target.getParent());
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), target, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("dashboard screenshot: " + target.toAbsolutePath());
    }

    /** Script errors and failed requests show up in the browser's console log. */
    private void assertNoBrowserErrors() {
        assertThat(browser.manage().logs().get(LogType.BROWSER).getAll())
                .filteredOn(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
                .extracting(LogEntry::getMessage).isEmpty();
    }

    private JsonNode awaitCompleted(String id) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode e = get("/v1/evaluations/" + id);
        while (!e.get("status").asString().equals("completed")) {
            assertThat(e.get("status").asString()).as("evaluation %s: %s", id, e.get("reason")).isIn("queued", "running");
            assertThat(System.nanoTime()).as("evaluation %s still %s", id, e.get("status")).isLessThan(deadline);
            try {
                Thread.sleep(100);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(ex);
            }
            e = get("/v1/evaluations/" + id);
        }
        return e;
    }

    private JsonNode post(String uri, Map<String, Object> body) {
        return json.readTree(http.post().uri(uri).contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(body)).exchange().expectStatus().isEqualTo(HttpStatus.ACCEPTED)
                .expectBody().returnResult().getResponseBody());
    }

    private JsonNode get(String uri) {
        return json.readTree(http.get().uri(uri).exchange().expectStatus().isOk().expectBody()
                .returnResult().getResponseBody());
    }
}
