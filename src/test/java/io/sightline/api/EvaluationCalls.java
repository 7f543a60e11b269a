package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.BodyInserters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code /v1/evaluations} calls through the running app, and row counts read from PostgreSQL, for tests. */
final class EvaluationCalls {

    private static final Duration PATIENCE = Duration.ofSeconds(120);

    /** The arms most evaluation tests compare: no intervention against VCD. */
    static final List<Map<String, Object>> TWO_ARMS = List.of(Map.of("intervention", "none"),
            Map.of("intervention", "vcd"));

    private final WebTestClient http;
    private final JsonMapper json;
    private final DatabaseClient db;

    EvaluationCalls(WebTestClient http, JsonMapper json, DatabaseClient db) {
        this.http = http;
        this.json = json;
        this.db = db;
    }

    JsonNode post(Map<String, Object> body, HttpStatus expected) {
        return read(http.post().uri("/v1/evaluations").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(body)), expected);
    }

    JsonNode upload(UploadedSet set, HttpStatus expected) {
        EntityExchangeResult<byte[]> result = upload(set, (String) null);
        assertThat(result.getStatus()).as(new String(result.getResponseBodyContent())).isEqualTo(expected);
        return json.readTree(result.getResponseBodyContent());
    }

    /** @param idempotencyKey null: none */
    EntityExchangeResult<byte[]> upload(UploadedSet set, String idempotencyKey) {
        WebTestClient.RequestBodySpec spec = http.post().uri("/v1/evaluations");
        if (idempotencyKey != null) {
            spec.header(Idempotency.HEADER, idempotencyKey);
        }
        return spec.body(BodyInserters.fromMultipartData(set.parts())).exchange().expectBody().returnResult();
    }

    JsonNode get(String uri) {
        return read(http.get().uri(uri), HttpStatus.OK);
    }

    JsonNode delete(UUID id, HttpStatus expected) {
        return read(http.delete().uri("/v1/evaluations/" + id), expected);
    }

    JsonNode cancel(UUID id, HttpStatus expected) {
        return read(http.post().uri("/v1/evaluations/" + id + "/cancel"), expected);
    }

    private JsonNode read(WebTestClient.RequestHeadersSpec<?> request, HttpStatus expected) {
        return json.readTree(request.exchange().expectStatus().isEqualTo(expected).expectBody().returnResult()
                .getResponseBody());
    }

    String csv(UUID id) {
        return http.get().uri("/v1/evaluations/" + id + "/items.csv").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
    }

    /** Polls until the evaluation has {@code status}; fails at once if it ends otherwise. */
    JsonNode awaitStatus(UUID id, String status) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode e = get("/v1/evaluations/" + id);
        while (!e.get("status").asString().equals(status)) {
            assertThat(e.get("status").asString()).as("evaluation %s: %s", id, e.get("reason")).isIn("queued", "running");
            assertThat(System.nanoTime()).as("evaluation %s still %s", id, e.get("status")).isLessThan(deadline);
            sleep(100);
            e = get("/v1/evaluations/" + id);
        }
        return e;
    }

    /** Polls until {@code count(from)} is at least {@code n}. */
    void awaitCount(String from, long n) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (count(from) < n) {
            assertThat(System.nanoTime()).as("fewer than %d rows in %s", n, from).isLessThan(deadline);
            sleep(10);
        }
    }

    long count(String from) {
        return db.sql("SELECT count(*) AS n FROM " + from).map(r -> r.get("n", Long.class)).one().block();
    }

    /** evaluations, evaluation_items and images rows: what a refused request must leave as it was. */
    long[] rows() {
        return new long[] {count("evaluations"), count("evaluation_items"), count("images")};
    }

    static UUID id(JsonNode evaluation) {
        return UUID.fromString(evaluation.get("id").asString());
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
