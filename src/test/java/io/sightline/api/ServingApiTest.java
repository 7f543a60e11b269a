package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Serving under load through the running app: concurrent requests share the one decode batch (2 rows here) and
 * each answer is the one it gets alone, stored exactly once; beyond the queue (4 here) requests get 429 with
 * Retry-After and leave no row; a timeout cancels the decode and stores the generation as failed with the reason.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.engine.max-batch-rows=2", "sightline.engine.queue-capacity=4"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class ServingApiTest {

    private static final Path SAMPLES = Path.of("onnx-models/samples");
    private static final List<String> PROMPTS = List.of("describe the image .", "is there a star ?");
    private static final List<String> SCENES = List.of("scene-a.png", "scene-b.png");

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;

    private record Answer(int status, JsonNode body, HttpHeaders headers) {
    }

    private Answer post(Map<String, Object> body) {
        EntityExchangeResult<byte[]> r = http.post().uri("/v1/generations").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(body)).exchange().expectBody().returnResult();
        return new Answer(r.getStatus().value(), json.readTree(r.getResponseBody()), r.getResponseHeaders());
    }

    private static Map<String, Object> body(String prompt, String scene, int maxNewTokens) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("prompt", prompt);
        body.put("max_new_tokens", maxNewTokens);
        body.put("image", Base64.getEncoder().encodeToString(Files.readAllBytes(SAMPLES.resolve(scene))));
        return body;
    }

    /** Posts the bodies from {@code clients} threads, each sending its next body when its last one is answered. */
    private List<Answer> concurrently(List<Map<String, Object>> bodies, int clients) {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<CompletableFuture<Answer>> answers = bodies.stream()
                    .map(b -> CompletableFuture.supplyAsync(() -> post(b), pool)).toList();
            return answers.stream().map(CompletableFuture::join).toList();
        } finally {
            pool.shutdown();
        }
    }

    private long count(String where) {
        return db.sql("SELECT count(*) AS n FROM generations WHERE " + where).map(r -> r.get("n", Long.class)).one()
                .block();
    }

    @Test
    void fourClientsShareTheBatchDecodeAsIfAloneAndEachRequestIsStoredOnce() throws Exception {
        Map<String, JsonNode> alone = new LinkedHashMap<>();
        List<Map<String, Object>> bodies = new ArrayList<>();
        for (String prompt : PROMPTS) {
            for (String scene : SCENES) {
                Answer a = post(body(prompt, scene, 16));
                assertThat(a.status()).isEqualTo(201);
                alone.put(prompt + "|" + scene, a.body().get("outputs").get(0).get("tokens"));
                for (int i = 0; i < 3; i++) {
                    bodies.add(body(prompt, scene, 16));
                }
            }
        }
        long before = count("true");

        List<Answer> answers = concurrently(bodies, 4);

        for (int i = 0; i < answers.size(); i++) {
            Answer a = answers.get(i);
            assertThat(a.status()).as("request %d: %s", i, a.body()).isEqualTo(201);
            assertThat(a.body().get("status").asString()).isEqualTo("completed");
            String key = bodies.get(i).get("prompt") + "|" + SCENES.get((i / 3) % 2);
            assertThat(a.body().get("outputs").get(0).get("tokens")).as(key).isEqualTo(alone.get(key));
            long outputs = db.sql("SELECT count(*) AS n FROM outputs WHERE generation_id = :id::uuid")
                    .bind("id", a.body().get("id").asString()).map(r -> r.get("n", Long.class)).one().block();
            assertThat(outputs).isEqualTo(1);
        }
        assertThat(count("true") - before).isEqualTo(bodies.size());
        assertThat(count("status = 'running'")).isZero();
    }

    @Test
    void beyondTheQueueRequestsGet429WithRetryAfterAndLeaveNoRow() throws Exception {
        long before = count("true");
        List<Map<String, Object>> bodies = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            bodies.add(body(PROMPTS.get(0), SCENES.get(i % 2), 64));
        }

        List<Answer> answers = concurrently(bodies, bodies.size());

        List<Answer> refused = answers.stream().filter(a -> a.status() == 429).toList();
        assertThat(refused).as("2 rows decode and 4 requests wait: 32 at once overfill the queue").isNotEmpty();
        for (Answer a : refused) {
            assertThat(a.headers().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("1");
            assertThat(a.body().get("type").asString()).isEqualTo("https://sightline.dev/problems/overloaded");
        }
        long accepted = answers.stream().filter(a -> a.status() == 201).count();
        assertThat(accepted + refused.size()).isEqualTo(bodies.size());
        assertThat(count("true") - before).as("one row per accepted request, none for a refused one")
                .isEqualTo(accepted);
        assertThat(count("status = 'running'")).isZero();
    }

    @Test
    void timeoutCancelsTheDecodeAndStoresTheGenerationAsFailedWithTheReason() throws Exception {
        Map<String, Object> body = body(PROMPTS.get(0), SCENES.get(0), 64);
        body.put("timeout_ms", 1);

        Answer a = post(body);

        assertThat(a.status()).as("%s", a.body()).isEqualTo(504);
        assertThat(a.body().get("type").asString()).isEqualTo("https://sightline.dev/problems/timeout");
        Map<String, Object> row = db.sql("SELECT status, reason FROM generations ORDER BY created_at DESC LIMIT 1")
                .fetch().one().block();
        assertThat(row).containsEntry("status", "failed");
        assertThat((String) row.get("reason")).startsWith("timeout: no result within 1 ms");
        assertThat(post(body(PROMPTS.get(0), SCENES.get(0), 8)).status()).as("the loop serves on").isEqualTo(201);
    }

    @Test
    void timeoutAboveTheConfiguredOneIsInvalid() throws Exception {
        Map<String, Object> body = body(PROMPTS.get(0), SCENES.get(0), 8);
        body.put("timeout_ms", 600_000);
        Answer a = post(body);
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body().get("errors").get(0).get("field").asString()).isEqualTo("timeout_ms");
    }
}
