package io.sightline.api;

import static io.sightline.api.GenerationApiTest.base64Json;
import static io.sightline.api.GenerationApiTest.multipart;
import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.api.GenerationApiTest.Request;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyInserters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code Idempotency-Key} on {@code POST /v1/generations}, over real HTTP against the embedded PostgreSQL. Same
 * properties as GenerationApiTest, so both run in one cached context.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class IdempotencyApiTest {

    private static final Path SAMPLES = Path.of("onnx-models/samples");
    private static final String PROBLEMS = "https://sightline.dev/problems/";

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;

    @Test
    void aRepeatReturnsTheStoredResponseWithoutRunningAgain() throws Exception {
        String key = UUID.randomUUID().toString();
        Request request = base64Json(png("scene-a.png"), Map.of("prompt", "describe the image .", "max_new_tokens", 4));

        EntityExchangeResult<byte[]> first = post(request, key);
        long generations = count("generations");
        EntityExchangeResult<byte[]> repeat = post(request, key);

        assertThat(first.getStatus()).isEqualTo(HttpStatus.CREATED);
        assertThat(repeat.getStatus()).isEqualTo(HttpStatus.CREATED);
        assertThat(first.getResponseHeaders().getFirst(Idempotency.REPLAYED)).isNull();
        assertThat(repeat.getResponseHeaders().getFirst(Idempotency.REPLAYED)).isEqualTo("true");
        assertThat(repeat.getResponseHeaders().getLocation()).isEqualTo(first.getResponseHeaders().getLocation());
        assertThat(body(repeat)).isEqualTo(body(first));
        assertThat(count("generations")).isEqualTo(generations);
    }

    @Test
    void anEvaluationRepeatReturnsTheSameEvaluation() {
        String key = UUID.randomUUID().toString();
        Map<String, Object> body = Map.of("set", "shapes-v1/pope-adversarial", "limit", 2,
                "arms", List.of(Map.of("intervention", "none")));
        long evaluations = count("evaluations");

        EntityExchangeResult<byte[]> first = postEvaluation(body, key);
        EntityExchangeResult<byte[]> repeat = postEvaluation(body, key);

        assertThat(first.getStatus()).isEqualTo(HttpStatus.ACCEPTED);
        assertThat(repeat.getStatus()).isEqualTo(HttpStatus.ACCEPTED);
        assertThat(repeat.getResponseHeaders().getFirst(Idempotency.REPLAYED)).isEqualTo("true");
        assertThat(body(repeat).get("id")).isEqualTo(body(first).get("id"));
        assertThat(count("evaluations")).isEqualTo(evaluations + 1);
    }

    @Test
    void multipartRepeatsMatchDespiteNewBoundaries() throws Exception {
        String key = UUID.randomUUID().toString();
        byte[] png = png("scene-b.png");
        Map<String, Object> fields = Map.of("prompt", "describe the image .", "max_new_tokens", 3);

        JsonNode first = body(post(multipart(png, fields), key));
        JsonNode repeat = body(post(multipart(png, fields), key));

        assertThat(repeat.get("id")).isEqualTo(first.get("id"));
    }

    @Test
    void theSameKeyWithAnotherBodyIsRefusedAndRunsNothing() throws Exception {
        String key = UUID.randomUUID().toString();
        byte[] png = png("scene-a.png");
        post(base64Json(png, Map.of("prompt", "describe the image .", "max_new_tokens", 2)), key);
        long generations = count("generations");

        EntityExchangeResult<byte[]> other = post(base64Json(png, Map.of("prompt", "describe the image .",
                "max_new_tokens", 3)), key);

        assertThat(other.getStatus()).isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT);
        assertThat(body(other).get("type").asString()).isEqualTo(PROBLEMS + "idempotency-key-reused");
        assertThat(body(other).get("field").asString()).isEqualTo(Idempotency.HEADER);
        assertThat(count("generations")).isEqualTo(generations);
    }

    @Test
    void concurrentRepeatsRunOnce() throws Exception {
        String key = UUID.randomUUID().toString();
        Request request = base64Json(png("scene-c.png"), Map.of("prompt", "describe the image .", "max_new_tokens", 24));
        long generations = count("generations");
        int clients = 6;
        List<Callable<EntityExchangeResult<byte[]>>> calls = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            calls.add(() -> post(request, key));
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<EntityExchangeResult<byte[]>> results = new ArrayList<>();
        try {
            for (Future<EntityExchangeResult<byte[]>> f : pool.invokeAll(calls)) {
                results.add(f.get());
            }
        } finally {
            pool.shutdown();
        }

        assertThat(count("generations")).isEqualTo(generations + 1);
        List<String> ids = new ArrayList<>();
        int fresh = 0;
        for (EntityExchangeResult<byte[]> r : results) {
            if (r.getStatus() == HttpStatus.CONFLICT) {
                assertThat(body(r).get("type").asString()).isEqualTo(PROBLEMS + "idempotency-key-in-use");
                assertThat(r.getResponseHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isNotBlank();
            } else {
                assertThat(r.getStatus()).isEqualTo(HttpStatus.CREATED);
                ids.add(body(r).get("id").asString());
                fresh += r.getResponseHeaders().getFirst(Idempotency.REPLAYED) == null ? 1 : 0;
            }
        }
        assertThat(fresh).isEqualTo(1);
        assertThat(ids).hasSizeGreaterThanOrEqualTo(1).allMatch(ids.get(0)::equals);
        // once the first finished, a late repeat is a replay
        assertThat(body(post(request, key)).get("id").asString()).isEqualTo(ids.get(0));
    }

    @Test
    void aRefusedRequestReleasesItsKeySoTheFixedRetryRuns() throws Exception {
        String key = UUID.randomUUID().toString();
        byte[] png = png("scene-a.png");
        Map<String, Object> fixed = Map.of("prompt", "describe the image .", "max_new_tokens", 2);
        assertThat(post(base64Json(png, Map.of("prompt", " ")), key).getStatus()).isEqualTo(HttpStatus.BAD_REQUEST);

        assertThat(post(base64Json(png, fixed), key).getStatus()).isEqualTo(HttpStatus.CREATED);
    }

    @Test
    void anExpiredKeyRunsAgain() throws Exception {
        String key = UUID.randomUUID().toString();
        Request request = base64Json(png("scene-a.png"), Map.of("prompt", "describe the image .", "max_new_tokens", 2));
        String first = body(post(request, key)).get("id").asString();
        db.sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE idempotency_key = :key")
                .bind("key", key).then().block();

        EntityExchangeResult<byte[]> again = post(request, key);

        assertThat(again.getResponseHeaders().getFirst(Idempotency.REPLAYED)).isNull();
        assertThat(body(again).get("id").asString()).isNotEqualTo(first);
    }

    @Test
    void malformedKeysAreInvalidRequests() throws Exception {
        Request request = base64Json(png("scene-a.png"), Map.of("prompt", "describe the image ."));
        long generations = count("generations");
        for (String key : List.of("", "k".repeat(Idempotency.MAX_KEY_CHARS + 1), "has space")) {
            EntityExchangeResult<byte[]> r = post(request, key);
            assertThat(r.getStatus()).as(key).isEqualTo(HttpStatus.BAD_REQUEST);
            assertThat(body(r).get("errors").get(0).get("field").asString()).isEqualTo(Idempotency.HEADER);
        }
        assertThat(count("generations")).isEqualTo(generations);
    }

    @SuppressWarnings("unchecked")
    private EntityExchangeResult<byte[]> post(Request request, String key) {
        WebTestClient.RequestBodySpec spec = http.post().uri("/v1/generations").contentType(request.contentType())
                .header(Idempotency.HEADER, key);
        WebTestClient.RequestHeadersSpec<?> withBody = request.body() instanceof String s ? spec.bodyValue(s)
                : spec.body(BodyInserters.fromMultipartData((MultiValueMap<String, org.springframework.http.HttpEntity<?>>) request.body()));
        return withBody.exchange().expectBody().returnResult();
    }

    private EntityExchangeResult<byte[]> postEvaluation(Map<String, Object> body, String key) {
        return http.post().uri("/v1/evaluations").contentType(org.springframework.http.MediaType.APPLICATION_JSON)
                .header(Idempotency.HEADER, key).bodyValue(body).exchange().expectBody().returnResult();
    }

    private JsonNode body(EntityExchangeResult<byte[]> result) {
        return json.readTree(result.getResponseBody());
    }

    private long count(String table) {
        return db.sql("SELECT count(*) AS n FROM " + table).map(r -> r.get("n", Long.class)).one().block();
    }

    private static byte[] png(String name) throws Exception {
        return Files.readAllBytes(SAMPLES.resolve(name));
    }
}
