package io.sightline.api;

import static io.sightline.api.EvaluationCalls.TWO_ARMS;
import static io.sightline.api.EvaluationCalls.id;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.sightline.engine.Generator;
import io.sightline.eval.EvaluationWorker;
import io.sightline.store.EvaluationStore;
import io.sightline.store.ImageRecord;
import io.sightline.store.ImageStore;
import io.sightline.vision.ImagePreprocessor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpStatus;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Evaluation items that fail, through the running app with real parts (same context as {@link EvaluationApiTest}):
 * an item whose stored image is corrupted after admission fails alone after the attempt limit while the others
 * complete, an item the engine refuses sinks only its first batch and is then retried alone, and stopping a worker or
 * cancelling an evaluation hands items back without counting an attempt. Each test runs its own worker with the
 * app's worker stopped, so that the rows it asserts on are its worker's alone.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class ItemFailureApiTest {

    private static final int MAX_ATTEMPTS = 3;

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;
    @Autowired
    EvaluationWorker appWorker;
    @Autowired
    EvaluationStore store;
    @Autowired
    ImageStore images;
    @Autowired
    ImagePreprocessor preprocessor;
    @Autowired
    Generator generator;
    @Autowired
    MeterRegistry meters;

    EvaluationCalls calls;

    @BeforeEach
    void stopTheAppsWorker() {
        calls = new EvaluationCalls(http, json, db);
        appWorker.stop();
    }

    @AfterEach
    void startTheAppsWorker() {
        appWorker.start();
    }

    @Test
    void anItemWhoseImageIsCorruptedAfterAdmissionFailsAloneAndTheEvaluationEndsFailed() {
        UploadedSet set = new UploadedSet(json, "one-corrupt", "pope", "pope-adversarial.jsonl", 6).arms(TWO_ARMS);
        byte[] unique = UploadedSet.recoloured(set.images.get("500005.png"));
        set.lines.get(2).put("image", "unique.png");
        set.images.put("unique.png", unique);
        UUID id = id(calls.upload(set, HttpStatus.ACCEPTED));
        assertThat(db.sql("UPDATE images SET bytes = substring(bytes from 1 for 60) WHERE sha256 = :sha")
                .bind("sha", ImageRecord.sha256(unique)).fetch().rowsUpdated().block()).isEqualTo(1);

        JsonNode ended = runUntil(id, "failed", 4);

        assertThat(ended.get("reason").asString()).startsWith("1 of 6 items failed after 3 attempts; first: item 2: "
                + "invalid-image: ");
        assertThat(ended.get("progress").get("done").asInt()).isEqualTo(5);
        assertThat(ended.get("progress").get("failed").asInt()).isEqualTo(1);
        assertThat(ended.get("report").get("items").asInt()).isEqualTo(5);
        ended.get("report").get("arms").forEach(arm -> assertThat(arm.get("n").asInt()).isEqualTo(5));
        assertOneResultPerItemAndArm(id, 5);

        JsonNode items = calls.get("/v1/evaluations/" + id + "/items?size=10").get("items");
        for (JsonNode item : items) {
            if (item.get("index").asInt() == 2) {
                assertThat(item.get("status").asString()).isEqualTo("failed");
                assertThat(item.get("attempts").asInt()).isEqualTo(MAX_ATTEMPTS);
                assertThat(item.get("error").asString()).startsWith("invalid-image: ");
                assertThat(item.get("results")).isEmpty();
            } else {
                // its image failed before the engine call, so the rest of its batch ran on the first attempt
                assertThat(item.get("status").asString()).isEqualTo("done");
                assertThat(item.get("attempts").asInt()).isEqualTo(1);
                assertThat(item.get("error").isNull()).isTrue();
                assertThat(item.get("results")).hasSize(2);
            }
        }
        String[] csv = calls.csv(id).split("\r\n");
        assertThat(csv[0]).endsWith(",scores,error");
        assertThat(csv).hasSize(1 + 5 * 2 + 1);
        assertThat(csv).filteredOn(line -> line.startsWith("2,")).singleElement().satisfies(line -> {
            assertThat(line).contains(",failed,");
            assertThat(line).contains("invalid-image: ");
        });

        // the ended evaluation's report is cached: rows removed behind the app's back no longer change it
        JsonNode report = calls.get("/v1/evaluations/" + id).get("report");
        db.sql("DELETE FROM evaluation_results WHERE evaluation_id = :id").bind("id", id).then().block();
        assertThat(calls.get("/v1/evaluations/" + id).get("report")).isEqualTo(report);
    }

    @Test
    void anItemTheEngineRefusesFailsItsFirstBatchAndIsThenRetriedAloneUntilItFailsForGood() {
        UploadedSet set = new UploadedSet(json, "one-refused", "pope", "pope-adversarial.jsonl", 6).arms(TWO_ARMS);
        set.lines.get(3).put("text", "is there a <image> in the image ?");
        UUID id = id(calls.upload(set, HttpStatus.ACCEPTED));

        JsonNode ended = runUntil(id, "failed", 6);

        assertThat(ended.get("reason").asString()).startsWith("1 of 6 items failed after 3 attempts; first: item 3: "
                + "invalid-params: ");
        assertOneResultPerItemAndArm(id, 5);
        for (JsonNode item : calls.get("/v1/evaluations/" + id + "/items?size=10").get("items")) {
            boolean refused = item.get("index").asInt() == 3;
            assertThat(item.get("status").asString()).isEqualTo(refused ? "failed" : "done");
            // all six failed together once; then each ran alone: five on their second attempt
            assertThat(item.get("attempts").asInt()).isEqualTo(refused ? MAX_ATTEMPTS : 2);
            assertThat(item.get("error").isNull()).isEqualTo(!refused);
        }
    }

    @Test
    void stoppingAWorkerOrCancellingAnEvaluationHandsItsItemsBackWithoutCountingAnAttempt() {
        UUID stopped = id(calls.post(Map.of("set", "shapes-v1/pope-random", "limit", 24, "arms", TWO_ARMS),
                HttpStatus.ACCEPTED));
        EvaluationWorker first = worker("stopped", 4);
        first.start();
        awaitLeased(stopped);
        first.stop();
        assertThat(calls.count("evaluation_items WHERE evaluation_id = '" + stopped + "' AND status = 'leased'")).isZero();
        assertThat(calls.count("evaluation_items WHERE evaluation_id = '" + stopped + "' AND status = 'pending'"))
                .isPositive();
        assertThat(calls.count("evaluation_items WHERE evaluation_id = '" + stopped + "' AND status = 'pending'"
                + " AND attempts <> 0")).isZero();
        calls.delete(stopped, HttpStatus.OK);

        UUID cancelled = id(calls.post(Map.of("set", "shapes-v1/pope-random", "limit", 24, "arms", TWO_ARMS),
                HttpStatus.ACCEPTED));
        EvaluationWorker second = worker("cancelling", 4);
        second.start();
        try {
            awaitLeased(cancelled);
            calls.delete(cancelled, HttpStatus.OK);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (calls.count("evaluation_items WHERE evaluation_id = '" + cancelled + "' AND status = 'leased'") > 0) {
                assertThat(System.nanoTime()).as("items of the cancelled evaluation still leased").isLessThan(deadline);
                EvaluationCalls.sleep(20);
            }
            assertThat(calls.count("evaluation_items WHERE evaluation_id = '" + cancelled + "' AND status = 'pending'"
                    + " AND attempts <> 0")).isZero();
        } finally {
            second.stop();
        }
    }

    /** Runs the evaluation with a worker of its own until it has {@code status}. */
    private JsonNode runUntil(UUID id, String status, int batchSize) {
        EvaluationWorker worker = worker("failing", batchSize);
        worker.start();
        try {
            return calls.awaitStatus(id, status);
        } finally {
            worker.stop();
        }
    }

    private void awaitLeased(UUID id) {
        calls.awaitCount("evaluation_items WHERE evaluation_id = '" + id + "' AND status = 'leased'", 1);
    }

    private void assertOneResultPerItemAndArm(UUID id, int doneItems) {
        assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id + "'")).isEqualTo(doneItems * 2L);
        assertThat(calls.count("(SELECT DISTINCT item_index, arm_index FROM evaluation_results WHERE evaluation_id = '"
                + id + "') r")).isEqualTo(doneItems * 2L);
    }

    private EvaluationWorker worker(String name, int batchSize) {
        return new EvaluationWorker("test-" + name + "-" + UUID.randomUUID().toString().substring(0, 6),
                new EvaluationWorker.Settings(batchSize, Duration.ofSeconds(30), Duration.ofMillis(50), MAX_ATTEMPTS),
                store, images, preprocessor, generator, json, meters);
    }
}
