package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyInserters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A fixed-seed fuzz run over every endpoint ({@link HostileRequests}): every answer must be a 4xx ProblemDetail (on
 * the OpenAI paths with OpenAI's {@code error} member too), the app must still answer, and no row may have been
 * written to any table a request can write. Runs with API keys on (AuthApiTest's context), so that the admin
 * endpoints and the key checks are in reach; most requests carry a valid team or admin key, so they get past the
 * filter to the parsers.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.auth.enabled=true", "sightline.auth.admin-key=" + AuthApiTest.ADMIN_KEY})
@AutoConfigureWebTestClient(timeout = "PT120S")
class RobustnessTest {

    private static final long SEED = 20261125L;
    private static final List<String> TABLES = List.of("generations", "generations WHERE status = 'running'", "images",
            "outputs", "evaluations", "evaluation_items", "evaluation_results", "feedback", "feedback_arms",
            "idempotency_keys", "api_keys");

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;

    @Test
    void everyHostileRequestIsA4xxProblemAndLeavesNoRows() throws Exception {
        HostileRequests.Callers callers = new HostileRequests.Callers(AuthApiTest.createKey(http, json, "fuzz"),
                AuthApiTest.ADMIN_KEY, revokedKey());
        String generationId = twoArmGeneration(callers.team());
        Map<String, Long> before = counts();
        List<HostileRequests.Case> cases = HostileRequests.all(SEED, callers, json, generationId);

        List<String> failures = new ArrayList<>();
        for (HostileRequests.Case c : cases) {
            String problem = problemError(c, send(c));
            if (problem != null) {
                failures.add(c.name() + " (" + c.method() + " " + abbreviate(c.path()) + ", " + c.type() + "): " + problem);
            }
        }

        assertThat(failures).as("of %d requests, those not answered with a 4xx ProblemDetail", cases.size()).isEmpty();
        http.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
        assertThat(counts()).as("rows per table").isEqualTo(before);
    }

    /** Null when the answer is a 4xx ProblemDetail (with OpenAI's error member on the OpenAI paths); else what is wrong. */
    private String problemError(HostileRequests.Case c, EntityExchangeResult<byte[]> r) {
        int status = r.getStatus().value();
        byte[] body = r.getResponseBody() == null ? new byte[0] : r.getResponseBody();
        if (status < 400 || status >= 500) {
            return "status " + status + ": " + abbreviate(new String(body, StandardCharsets.UTF_8));
        }
        if (!MediaType.APPLICATION_PROBLEM_JSON.isCompatibleWith(r.getResponseHeaders().getContentType())) {
            return "content type " + r.getResponseHeaders().getContentType();
        }
        JsonNode problem = json.readTree(body);
        if (!problem.path("type").asString("").startsWith("https://sightline.dev/problems/")
                || problem.path("status").asInt() != status || problem.path("detail").asString("").isBlank()) {
            return "not a Sightline problem: " + problem;
        }
        boolean openAi = c.path().equals(HostileRequests.CHAT) || c.path().equals(HostileRequests.MODELS);
        if (openAi && !problem.path("error").path("message").equals(problem.get("detail"))) {
            return "no OpenAI error member: " + problem;
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    private EntityExchangeResult<byte[]> send(HostileRequests.Case c) {
        WebTestClient.RequestBodySpec spec = http.method(c.method()).uri(c.path());
        if (c.authorization() != null) {
            spec = spec.header(HttpHeaders.AUTHORIZATION, c.authorization());
        }
        for (Map.Entry<String, String> h : c.headers().entrySet()) {
            spec = spec.header(h.getKey(), h.getValue());
        }
        if (c.body() == null) {
            return spec.exchange().expectBody().returnResult();
        }
        spec = spec.contentType(c.type());
        WebTestClient.RequestHeadersSpec<?> withBody = c.body() instanceof byte[] b ? spec.bodyValue(b)
                : spec.body(BodyInserters.fromMultipartData((MultiValueMap<String, HttpEntity<?>>) c.body()));
        return withBody.exchange().expectBody().returnResult();
    }

    /** A key of team "fuzz-revoked", revoked through the admin endpoint. */
    private String revokedKey() {
        String key = AuthApiTest.createKey(http, json, "fuzz-revoked");
        UUID id = db.sql("SELECT id FROM api_keys WHERE key_sha256 = :h").bind("h", ApiKeys.sha256(key))
                .map(r -> r.get("id", UUID.class)).one().block();
        http.delete().uri(HostileRequests.ADMIN_KEYS + "/" + id).header(HttpHeaders.AUTHORIZATION, "Bearer " + AuthApiTest.ADMIN_KEY)
                .exchange().expectStatus().isOk();
        return key;
    }

    /** A completed generation with arms none and vcd, for the feedback requests. */
    private String twoArmGeneration(String key) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("prompt", "describe the image .");
        body.put("max_new_tokens", 2);
        body.put("arms", List.of(Map.of("intervention", "none"), Map.of("intervention", "vcd")));
        body.put("image", Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"))));
        byte[] created = http.post().uri(HostileRequests.GENERATIONS).header(HttpHeaders.AUTHORIZATION, "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(json.writeValueAsBytes(body))
                .exchange().expectStatus().isCreated().expectBody().returnResult().getResponseBody();
        return json.readTree(created).get("id").asString();
    }

    private Map<String, Long> counts() {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (String table : TABLES) {
            counts.put(table, db.sql("SELECT count(*) AS n FROM " + table).map(r -> r.get("n", Long.class)).one().block());
        }
        return counts;
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 120) + "...";
    }
}
