package io.sightline.api;

import static io.sightline.api.EvaluationCalls.TWO_ARMS;
import static io.sightline.api.EvaluationCalls.id;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.sightline.engine.Generator;
import io.sightline.eval.EvaluationWorker;
import io.sightline.eval.PairedTests;
import io.sightline.scoring.PopeScore;
import io.sightline.store.EvaluationStore;
import io.sightline.store.ImageStore;
import io.sightline.vision.ImagePreprocessor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Evaluations through the running app (the same context as {@link GenerationApiTest}): jobs run to completion with
 * exactly one result per item and arm, survive a stopped and a crashed worker, are shared by two workers, can be
 * cancelled, and report metrics equal to a recomputation from the stored rows; the OpenAPI document shows both ways
 * to start one.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class EvaluationApiTest {

    private static final String POPE = "shapes-v1/pope-adversarial";

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;
    @Autowired
    EvaluationWorker worker;
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
    void calls() {
        calls = new EvaluationCalls(http, json, db);
    }

    @Test
    void smallEvaluationCompletesWithOneResultPerItemAndArmAndMetricsFromTheRows() {
        JsonNode created = calls.post(Map.of("set", POPE, "limit", 10, "arms", TWO_ARMS), HttpStatus.ACCEPTED);
        UUID id = id(created);
        assertThat(created.get("status").asString()).isIn("queued", "running");
        assertThat(created.get("progress").get("total").asInt()).isEqualTo(10);
        assertThat(created.get("request").get("max_new_tokens").asInt()).isEqualTo(3);
        List<String> keys = new ArrayList<>();
        created.get("request").properties().forEach(e -> keys.add(e.getKey()));
        assertThat(keys).as("the accepted request keeps its order (json, not jsonb)").containsExactly("set", "limit",
                "max_new_tokens", "temperature", "top_k", "top_p", "seed", "stop", "arms");

        JsonNode done = calls.awaitStatus(id, "completed");

        assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id + "'")).isEqualTo(20);
        assertThat(calls.count("(SELECT DISTINCT item_index, arm_index FROM evaluation_results WHERE evaluation_id = '"
                + id + "') r")).isEqualTo(20);
        assertThat(done.get("progress").get("done").asInt()).isEqualTo(10);
        assertThat(done.get("progress").get("items_per_second").asDouble()).isPositive();

        // recompute POPE metrics and McNemar from the stored rows, independently of the report code
        List<Map<String, Object>> rows = db.sql("""
                        SELECT r.item_index, r.arm_index, r.answer, i.payload::text AS payload
                        FROM evaluation_results r JOIN evaluation_items i USING (evaluation_id, item_index)
                        WHERE r.evaluation_id = :id ORDER BY r.arm_index, r.item_index""")
                .bind("id", id).fetch().all().collectList().block();
        List<List<PopeScore.Outcome>> byArm = List.of(new ArrayList<>(), new ArrayList<>());
        for (Map<String, Object> row : rows) {
            boolean labelYes = json.readTree((String) row.get("payload")).get("label").asString().equals("yes");
            byArm.get((Integer) row.get("arm_index")).add(new PopeScore.Outcome(labelYes,
                    PopeScore.saysYes((String) row.get("answer"))));
        }
        JsonNode report = done.get("report");
        assertThat(report.get("items").asInt()).isEqualTo(10);
        for (int arm = 0; arm < 2; arm++) {
            PopeScore score = PopeScore.of(byArm.get(arm));
            JsonNode metrics = report.get("arms").get(arm).get("metrics");
            assertThat(metrics.get("accuracy").get("point").asDouble()).isEqualTo(score.accuracy());
            assertThat(metrics.get("f1").get("point").asDouble()).isEqualTo(score.f1());
            assertThat(metrics.get("yes_ratio").get("point").asDouble()).isEqualTo(score.yesRatio());
            assertThat(metrics.get("accuracy").get("lower").asDouble()).isLessThanOrEqualTo(score.accuracy());
            assertThat(metrics.get("accuracy").get("upper").asDouble()).isGreaterThanOrEqualTo(score.accuracy());
            assertThat(report.get("arms").get(arm).get("latency_p95_ms").asDouble()).isPositive();
        }
        int firstOnly = 0;
        int secondOnly = 0;
        for (int i = 0; i < 10; i++) {
            PopeScore.Outcome a = byArm.get(0).get(i);
            PopeScore.Outcome b = byArm.get(1).get(i);
            boolean aRight = a.labelYes() == a.answeredYes();
            boolean bRight = b.labelYes() == b.answeredYes();
            firstOnly += aRight && !bRight ? 1 : 0;
            secondOnly += bRight && !aRight ? 1 : 0;
        }
        JsonNode test = report.get("comparisons").get(0);
        assertThat(test.get("test").asString()).isEqualTo("mcnemar-exact");
        assertThat(test.get("first_only").asInt()).isEqualTo(firstOnly);
        assertThat(test.get("second_only").asInt()).isEqualTo(secondOnly);
        assertThat(test.get("p_value").asDouble()).isEqualTo(PairedTests.mcnemarExact(firstOnly, secondOnly));

        JsonNode page = calls.get("/v1/evaluations/" + id + "/items?page=1&size=4");
        assertThat(page.get("total").asInt()).isEqualTo(10);
        assertThat(page.get("items").get(0).get("index").asInt()).isEqualTo(4);
        assertThat(page.get("items").get(0).get("results").size()).isEqualTo(2);
        assertThat(page.get("items").get(0).get("item").get("label").asString()).isIn("yes", "no");
        String csv = calls.csv(id);
        assertThat(csv.split("\r\n")).hasSize(21);
        http.get().uri(page.get("items").get(0).get("image_url").asString()).exchange().expectStatus().isOk()
                .expectHeader().contentType(MediaType.IMAGE_PNG);
        JsonNode list = calls.get("/v1/evaluations?size=100");
        assertThat(list.get("items").findValuesAsString("id")).contains(id.toString());
        assertThat(meters.find("sightline.evaluation.items.done").counters()).isNotEmpty();
    }

    @Test
    void stoppedAndCrashedWorkersLeaveAJobThatResumesWithExactlyOneResultPerItemAndArm() throws Exception {
        worker.stop();
        EvaluationWorker first = worker("first", 2);
        EvaluationWorker second = worker("second", 2);
        try {
            UUID id = id(calls.post(Map.of("set", POPE, "limit", 16, "arms", TWO_ARMS), HttpStatus.ACCEPTED));
            // a crashed instance: it leased four items and died; its leases run out after 300 ms
            assertThat(store.claim("crashed-instance", 4, Duration.ofMillis(300), 3).block()).hasSize(4);

            first.start();
            calls.awaitCount(doneItems(id), 2);
            first.stop();
            long done = calls.count(doneItems(id));
            assertThat(done).isLessThan(16);
            assertThat(calls.count("evaluation_items WHERE lease_owner = '" + first.owner()
                    + "' AND status = 'leased'")).isZero();
            assertThat(calls.get("/v1/evaluations/" + id).get("status").asString()).isEqualTo("running");

            second.start();
            calls.awaitStatus(id, "completed");
            assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id + "'")).isEqualTo(32);
            assertThat(calls.count("(SELECT DISTINCT item_index, arm_index FROM evaluation_results"
                    + " WHERE evaluation_id = '" + id + "') r")).isEqualTo(32);
            // the crashed instance's four items were claimed again once their leases ran out
            assertThat(calls.count("evaluation_items WHERE evaluation_id = '" + id + "' AND attempts >= 2"))
                    .isGreaterThanOrEqualTo(4);
            assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id
                    + "' AND worker = 'crashed-instance'")).isZero();
        } finally {
            first.stop();
            second.stop();
            worker.start();
        }
    }

    @Test
    void twoWorkersShareOneJob() {
        worker.stop();
        EvaluationWorker a = worker("a", 2);
        EvaluationWorker b = worker("b", 2);
        try {
            a.start();
            b.start();
            UUID id = id(calls.post(Map.of("set", "shapes-v1/pope-random", "limit", 24, "arms", TWO_ARMS),
                    HttpStatus.ACCEPTED));
            calls.awaitStatus(id, "completed");
            assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id + "'")).isEqualTo(48);
            assertThat(calls.count("(SELECT DISTINCT item_index, arm_index FROM evaluation_results"
                    + " WHERE evaluation_id = '" + id + "') r")).isEqualTo(48);
            for (EvaluationWorker w : List.of(a, b)) {
                assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id
                        + "' AND worker = '" + w.owner() + "'"))
                        .as(w.owner()).isPositive();
            }
        } finally {
            a.stop();
            b.stop();
            worker.start();
        }
    }

    @Test
    void cancelStopsAnOpenEvaluationAndRefusesAnEndedOne() {
        worker.stop();
        UUID id;
        try {
            id = id(calls.post(Map.of("set", POPE, "limit", 5), HttpStatus.ACCEPTED));
            JsonNode cancelled = calls.delete(id, HttpStatus.OK);
            assertThat(cancelled.get("status").asString()).isEqualTo("cancelled");
            JsonNode again = calls.cancel(id, HttpStatus.OK);
            assertThat(again.get("status").asString()).isEqualTo("cancelled");
        } finally {
            worker.start();
        }
        assertThat(store.claim("anyone", 10, Duration.ofSeconds(1), 3).block())
                .noneMatch(item -> item.evaluationId().equals(id));
        assertThat(calls.count("evaluation_results WHERE evaluation_id = '" + id + "'")).isZero();

        UUID finished = id(calls.post(Map.of("set", POPE, "limit", 2), HttpStatus.ACCEPTED));
        calls.awaitStatus(finished, "completed");
        JsonNode problem = calls.delete(finished, HttpStatus.CONFLICT);
        assertThat(problem.get("type").asString()).isEqualTo(ProblemType.BASE + "invalid-state");
        calls.delete(UUID.randomUUID(), HttpStatus.NOT_FOUND);
    }

    static Stream<Arguments> refusedEvaluations() {
        return Stream.of(
                Arguments.of("unknown set", Map.of("set", "shapes-v1/pope-nowhere"), 422, "unknown-set"),
                Arguments.of("no set", Map.of("limit", 3), 400, "invalid-request"),
                Arguments.of("limit 0", Map.of("set", POPE, "limit", 0), 400, "invalid-request"),
                Arguments.of("limit above the set", Map.of("set", POPE, "limit", 391), 400, "invalid-request"),
                Arguments.of("unknown intervention", Map.of("set", POPE, "arms", List.of(Map.of("intervention", "nope"))),
                        422, "unknown-intervention"),
                Arguments.of("bad parameter", Map.of("set", POPE, "arms", List.of(Map.of("intervention", "vcd",
                        "params", Map.of("alpha", -3)))), 422, "invalid-params"),
                Arguments.of("out-of-range decoding", Map.of("set", POPE, "temperature", 9), 400, "invalid-request"),
                Arguments.of("unknown field", Map.of("set", POPE, "items", 3), 400, "invalid-request"),
                Arguments.of("an upload in a JSON body", Map.of("upload", Map.of("name", "mine", "kind", "pope")), 400,
                        "invalid-request"));
    }

    @ParameterizedTest(name = "{0} -> {2} {3}")
    @MethodSource("refusedEvaluations")
    void refusedEvaluationsGetTheirProblemTypeAndLeaveNoRows(String name, Map<String, Object> body, int status,
                                                            String type) {
        long[] before = calls.rows();

        JsonNode problem = calls.post(body, HttpStatus.valueOf(status));

        assertThat(problem.get("type").asString()).isEqualTo(ProblemType.BASE + type);
        assertThat(problem.get("instance").asString()).isEqualTo("/v1/evaluations");
        assertThat(calls.rows()).containsExactly(before);
    }

    /**
     * The handlers read the request themselves, so springdoc knows the two request forms only from the controller's
     * annotations.
     */
    @Test
    void theOpenApiDocumentShowsTheJsonBodyAndTheMultipartUploadAsOneOperationAnswering202() {
        JsonNode doc = json.readTree(http.get().uri("/v3/api-docs").exchange().expectStatus().isOk().expectBody()
                .returnResult().getResponseBody());
        JsonNode post = doc.get("paths").get("/v1/evaluations").get("post");
        JsonNode content = post.get("requestBody").get("content");
        assertThat(post.get("requestBody").get("required").asBoolean()).isTrue();
        assertThat(content.propertyNames()).containsExactlyInAnyOrder("application/json", "multipart/form-data");

        JsonNode body = resolve(doc, content.get("application/json").get("schema"));
        assertThat(body.get("properties").propertyNames()).contains("set", "upload", "limit", "max_new_tokens", "arms");
        // the arms of a request, and the feedback's arms still their own: schemas are named by simple class name
        assertThat(resolve(doc, body.get("properties").get("arms").get("items")).get("properties").propertyNames())
                .containsExactlyInAnyOrder("intervention", "params");
        JsonNode feedback = doc.get("components").get("schemas").get("FeedbackView");
        assertThat(resolve(doc, feedback.get("properties").get("arms").get("items")).get("properties").propertyNames())
                .containsExactlyInAnyOrder("arm", "hallucinated", "note");
        assertThat(resolve(doc, body.get("properties").get("upload")).get("properties").propertyNames())
                .containsExactlyInAnyOrder("name", "kind");

        JsonNode multipart = content.get("multipart/form-data");
        JsonNode parts = multipart.get("schema").get("properties");
        assertThat(parts.propertyNames()).containsExactlyInAnyOrder("request", "items", "images", "synonyms");
        assertThat(multipart.get("schema").get("required").valueStream().map(JsonNode::asString))
                .containsExactlyInAnyOrder("request", "items");
        assertThat(resolve(doc, parts.get("request"))).isEqualTo(body);
        assertThat(multipart.get("encoding").get("request").get("contentType").asString()).isEqualTo("application/json");
        assertThat(parts.get("items").get("format").asString()).isEqualTo("binary");
        assertThat(parts.get("images").get("type").asString()).isEqualTo("array");
        assertThat(parts.get("images").get("items").get("format").asString()).isEqualTo("binary");
        assertThat(parts.get("synonyms").get("format").asString()).isEqualTo("binary");

        assertThat(post.get("responses").propertyNames()).contains("202", "400", "409", "413", "415", "422")
                .doesNotContain("200");
        assertThat(post.get("responses").get("202").get("headers").propertyNames()).contains("Location");
        assertThat(resolve(doc, post.get("responses").get("202").get("content").get("application/json").get("schema"))
                .get("properties").propertyNames()).contains("id", "status", "set", "kind", "progress");
    }

    private EvaluationWorker worker(String name, int batchSize) {
        return new EvaluationWorker("test-" + name + "-" + UUID.randomUUID().toString().substring(0, 6),
                new EvaluationWorker.Settings(batchSize, Duration.ofSeconds(30), Duration.ofMillis(50), 3), store, images,
                preprocessor, generator, json, meters);
    }

    private static String doneItems(UUID id) {
        return "evaluation_items WHERE evaluation_id = '" + id + "' AND status = 'done'";
    }

    /** The schema a {@code $ref} points at in {@code components/schemas}; the schema itself when it has none. */
    private static JsonNode resolve(JsonNode doc, JsonNode schema) {
        if (!schema.has("$ref")) {
            return schema;
        }
        String name = schema.get("$ref").asString().substring("#/components/schemas/".length());
        return doc.get("components").get("schemas").get(name);
    }
}
