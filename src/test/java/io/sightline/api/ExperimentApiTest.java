package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sightline.eval.Wilson;
import io.sightline.scoring.Interval;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
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
 * Live A/B through the running app (the same context as {@link GenerationApiTest}): feedback is checked against
 * the generation's arms and stored, and the per-arm summary counts what the stored rows hold.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class ExperimentApiTest {

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;

    @Test
    void feedbackIsValidatedAgainstTheArmsAndTheSummaryCountsIt() throws Exception {
        String image = Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png")));
        JsonNode single = post("/v1/generations", Map.of("prompt", "describe the image .", "max_new_tokens", 6,
                "image", image), HttpStatus.CREATED);
        JsonNode pair = post("/v1/generations", Map.of("prompt", "describe the image .", "max_new_tokens", 6,
                "image", image, "arms", List.of(Map.of("intervention", "none"), Map.of("intervention", "m3id"))),
                HttpStatus.CREATED);
        String feedback = "/v1/generations/" + pair.get("id").asString() + "/feedback";
        long before = count("feedback") + count("feedback_arms");

        for (Map<String, Object> bad : List.<Map<String, Object>>of(
                Map.of(),
                Map.of("preferred_arm", 2),
                Map.of("arms", List.of(Map.of("arm", 5, "hallucinated", true))),
                Map.of("arms", List.of(Map.of("arm", 0, "hallucinated", true), Map.of("arm", 0, "hallucinated", false))),
                Map.of("arms", List.of(Map.of("arm", 0))),
                Map.of("preferred_arm", 0, "winner", 1))) {
            JsonNode problem = post(feedback, bad, HttpStatus.BAD_REQUEST);
            assertThat(problem.get("type").asString()).as(bad.toString()).isEqualTo(ProblemType.BASE + "invalid-request");
        }
        post("/v1/generations/" + single.get("id").asString() + "/feedback", Map.of("preferred_arm", 0),
                HttpStatus.BAD_REQUEST);
        post("/v1/generations/" + UUID.randomUUID() + "/feedback", Map.of("preferred_arm", 0), HttpStatus.NOT_FOUND);
        assertThat(count("feedback") + count("feedback_arms")).isEqualTo(before);

        Map<String, Object> good = new LinkedHashMap<>();
        good.put("preferred_arm", 1);
        good.put("note", "m3id names only what is there");
        good.put("arms", List.of(Map.of("arm", 0, "hallucinated", true), Map.of("arm", 1, "hallucinated", false,
                "note", "ok")));
        JsonNode stored = post(feedback, good, HttpStatus.CREATED);
        assertThat(stored.get("preferred_arm").asInt()).isEqualTo(1);
        assertThat(stored.get("arms").size()).isEqualTo(2);
        JsonNode listed = json.readTree(http.get().uri(feedback).exchange().expectStatus().isOk().expectBody()
                .returnResult().getResponseBody());
        assertThat(listed.size()).isEqualTo(1);
        assertThat(listed.get(0)).isEqualTo(stored);

        Instant from = Instant.parse(single.get("created_at").asString());
        Instant to = Instant.parse(pair.get("created_at").asString()).plusMillis(1);
        JsonNode summary = get("/v1/experiments/summary?from=" + from + "&to=" + to);
        Map<String, JsonNode> arms = new LinkedHashMap<>();
        summary.get("arms").forEach(a -> arms.put(a.get("intervention").asString(), a));
        assertThat(arms).containsOnlyKeys("none", "m3id");

        JsonNode none = arms.get("none");
        assertThat(none.get("outputs").asLong()).isEqualTo(2);
        double noneTokens = (single.get("outputs").get(0).get("tokens").size()
                + pair.get("outputs").get(0).get("tokens").size()) / 2.0;
        assertThat(none.get("mean_tokens").asDouble()).isCloseTo(noneTokens, within(1e-9));
        double noneRatio = (single.get("outputs").get(0).get("scores").get("visual_attention_ratio").asDouble()
                + pair.get("outputs").get(0).get("scores").get("visual_attention_ratio").asDouble()) / 2;
        assertThat(none.get("visual_attention_ratio").asDouble()).isCloseTo(noneRatio, within(1e-9));
        assertThat(none.get("preferences").asLong()).isEqualTo(1);
        assertThat(none.get("wins").asLong()).isZero();
        assertThat(none.get("hallucinated").asLong()).isEqualTo(1);
        assertInterval(none.get("hallucination_rate"), Wilson.interval95(1, 1));
        assertInterval(none.get("win_rate"), Wilson.interval95(0, 1));

        JsonNode m3id = arms.get("m3id");
        assertThat(m3id.get("outputs").asLong()).isEqualTo(1);
        assertThat(m3id.get("latency_p50_ms").asDouble())
                .isEqualTo(pair.get("outputs").get(1).get("latency_ms").asDouble());
        assertInterval(m3id.get("win_rate"), Wilson.interval95(1, 1));
        assertInterval(m3id.get("hallucination_rate"), Wilson.interval95(0, 1));

        JsonNode onlyM3id = get("/v1/experiments/summary?from=" + from + "&to=" + to + "&intervention=m3id");
        assertThat(onlyM3id.get("arms").size()).isEqualTo(2);
        assertThat(onlyM3id.get("arms").findValuesAsString("intervention")).containsExactlyInAnyOrder("none", "m3id");
        assertThat(onlyM3id.get("arms").findValues("outputs").stream().mapToLong(JsonNode::asLong).sum()).isEqualTo(2);
        assertThat(json.readTree(http.get().uri("/v1/experiments/summary?from=" + to + "&to=" + from).exchange()
                .expectStatus().isBadRequest().expectBody().returnResult().getResponseBody()).get("type").asString())
                .isEqualTo(ProblemType.BASE + "invalid-request");
    }

    private static void assertInterval(JsonNode actual, Interval expected) {
        assertThat(actual.get("point").asDouble()).isEqualTo(expected.point());
        assertThat(actual.get("lower").asDouble()).isCloseTo(expected.lower(), within(1e-12));
        assertThat(actual.get("upper").asDouble()).isCloseTo(expected.upper(), within(1e-12));
    }

    private JsonNode post(String uri, Map<String, Object> body, HttpStatus expected) {
        return json.readTree(http.post().uri(uri).contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(body)).exchange().expectStatus().isEqualTo(expected).expectBody()
                .returnResult().getResponseBody());
    }

    private JsonNode get(String uri) {
        return json.readTree(http.get().uri(uri).exchange().expectStatus().isOk().expectBody().returnResult()
                .getResponseBody());
    }

    private long count(String table) {
        return db.sql("SELECT count(*) AS n FROM " + table).map(r -> r.get("n", Long.class)).one().block();
    }
}
