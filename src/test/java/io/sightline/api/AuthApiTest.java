package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.eval.EvaluationWorker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Team API keys over real HTTP with {@code sightline.auth.enabled=true}: keys made by the admin endpoint, two teams
 * that never see each other's generations, evaluations, images, feedback or summaries (404 as for an unknown id),
 * 401/403 as ProblemDetails, and the probes still open. RobustnessTest shares this context (same properties).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.auth.enabled=true", "sightline.auth.admin-key=" + AuthApiTest.ADMIN_KEY})
@AutoConfigureWebTestClient(timeout = "PT120S")
class AuthApiTest {

    static final String ADMIN_KEY = "test-admin-key-7f3a9c";
    private static final String PROBLEMS = "https://sightline.dev/problems/";

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;
    @Autowired
    EvaluationWorker worker;

    /** A new key of {@code team}, made through the admin endpoint. */
    static String createKey(WebTestClient http, JsonMapper json, String team) {
        byte[] body = http.post().uri("/v1/admin/api-keys").header(HttpHeaders.AUTHORIZATION, "Bearer " + ADMIN_KEY)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(Map.of("team", team, "name", "test"))
                .exchange().expectStatus().isCreated().expectBody().returnResult().getResponseBody();
        return json.readTree(body).get("key").asString();
    }

    @Test
    void eachTeamSeesOnlyItsOwnGenerations() throws Exception {
        String vision = createKey(http, json, "vision");
        String search = createKey(http, json, "search");

        JsonNode created = json.readTree(generate(vision, null, "scene-a.png", 1).getResponseBody());
        String id = created.get("id").asString();

        assertThat(ids(list(vision))).contains(id);
        assertThat(ids(list(search))).doesNotContain(id);
        assertThat(get(vision, "/v1/generations/" + id).getStatus()).isEqualTo(HttpStatus.OK);
        EntityExchangeResult<byte[]> hidden = get(search, "/v1/generations/" + id);
        assertThat(hidden.getStatus()).isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(json.readTree(hidden.getResponseBody()).get("type").asString()).isEqualTo(PROBLEMS + "not-found");
        assertThat(list(search).get("total").asLong()).isEqualTo(count("generations WHERE team = 'search'"));
        assertThat(db.sql("SELECT team FROM generations WHERE id = :id").bind("id", UUID.fromString(id))
                .map(r -> r.get("team", String.class)).one().block()).isEqualTo("vision");
    }

    @Test
    void idempotencyKeysOfTwoTeamsNeverCollide() throws Exception {
        String key = UUID.randomUUID().toString();
        String a = json.readTree(generate(createKey(http, json, "team-a"), key, "scene-a.png", 1).getResponseBody())
                .get("id").asString();
        String b = json.readTree(generate(createKey(http, json, "team-b"), key, "scene-a.png", 1).getResponseBody())
                .get("id").asString();
        assertThat(a).isNotEqualTo(b);
    }

    @Test
    void eachTeamSeesAndCancelsOnlyItsOwnEvaluationsAndTheirImages() throws Exception {
        String owner = createKey(http, json, "eval-owner");
        String stranger = createKey(http, json, "eval-stranger");
        // stopped, so that the evaluation stays open and both teams' cancels meet the same state
        worker.stop();
        try {
            byte[] body = http.post().uri("/v1/evaluations").header(HttpHeaders.AUTHORIZATION, "Bearer " + owner)
                    .contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(Map.of("set", "shapes-v1/pope-adversarial", "limit", 3))
                    .exchange().expectStatus().isAccepted().expectBody().returnResult().getResponseBody();
            String id = json.readTree(body).get("id").asString();
            String path = "/v1/evaluations/" + id;
            assertThat(db.sql("SELECT team FROM evaluations WHERE id = :id").bind("id", UUID.fromString(id))
                    .map(r -> r.get("team", String.class)).one().block()).isEqualTo("eval-owner");

            assertThat(ids(json.readTree(get(owner, "/v1/evaluations?size=100").getResponseBody()))).contains(id);
            JsonNode strangers = json.readTree(get(stranger, "/v1/evaluations?size=100").getResponseBody());
            assertThat(ids(strangers)).doesNotContain(id);
            assertThat(strangers.get("total").asLong()).isEqualTo(count("evaluations WHERE team = 'eval-stranger'"));

            for (String hidden : List.of(path, path + "/items", path + "/items.csv")) {
                assertNotFound(get(stranger, hidden), hidden);
                assertThat(get(owner, hidden).getStatus()).as(hidden).isEqualTo(HttpStatus.OK);
            }
            assertNotFound(send(stranger, HttpMethod.DELETE, path), path);
            assertNotFound(send(stranger, HttpMethod.POST, path + "/cancel"), path + "/cancel");
            assertThat(db.sql("SELECT status FROM evaluations WHERE id = :id").bind("id", UUID.fromString(id))
                    .map(r -> r.get("status", String.class)).one().block()).isEqualTo("queued");

            JsonNode items = json.readTree(get(owner, path + "/items").getResponseBody()).get("items");
            assertThat(items.size()).isEqualTo(3);
            String image = items.get(0).get("image_url").asString();
            assertThat(get(owner, image).getStatus()).isEqualTo(HttpStatus.OK);
            assertNotFound(get(stranger, image), image);

            JsonNode cancelled = json.readTree(send(owner, HttpMethod.POST, path + "/cancel").getResponseBody());
            assertThat(cancelled.get("status").asString()).isEqualTo("cancelled");
            assertThat(send(owner, HttpMethod.DELETE, path).getStatus()).isEqualTo(HttpStatus.OK);
        } finally {
            worker.start();
        }
    }

    @Test
    void feedbackSummaryAndImagesOfAGenerationStayWithItsTeam() throws Exception {
        String owner = createKey(http, json, "live-owner");
        String stranger = createKey(http, json, "live-stranger");
        JsonNode pair = json.readTree(generate(owner, null, "scene-c.png", 2).getResponseBody());
        String feedback = "/v1/generations/" + pair.get("id").asString() + "/feedback";
        String image = "/v1/images/" + pair.get("image").get("sha256").asString();

        assertThat(post(owner, feedback, Map.of("preferred_arm", 1)).getStatus()).isEqualTo(HttpStatus.CREATED);
        assertNotFound(post(stranger, feedback, Map.of("preferred_arm", 0)), feedback);
        assertNotFound(get(stranger, feedback), feedback);
        assertThat(json.readTree(get(owner, feedback).getResponseBody()).size()).isEqualTo(1);

        EntityExchangeResult<byte[]> own = get(owner, image);
        assertThat(own.getStatus()).isEqualTo(HttpStatus.OK);
        assertThat(own.getResponseBody()).isEqualTo(Files.readAllBytes(Path.of("onnx-models/samples/scene-c.png")));
        assertThat(own.getResponseHeaders().getCacheControl()).as("no shared cache may hand it to another team")
                .contains("private");
        assertNotFound(get(stranger, image), image);

        assertThat(summaryTotals(owner)).containsExactly(2, 2, 1);
        assertThat(summaryTotals(stranger)).containsExactly(0, 0, 0);
        JsonNode strangers = json.readTree(generate(stranger, null, "scene-b.png", 1).getResponseBody());
        assertThat(summaryTotals(stranger)).containsExactly(1, 0, 0);
        assertThat(get(stranger, "/v1/images/" + strangers.get("image").get("sha256").asString()).getStatus())
                .isEqualTo(HttpStatus.OK);
        assertNotFound(get(stranger, image), image);
    }

    @Test
    void keysAreStoredOnlyAsTheirHash() {
        String key = createKey(http, json, "hashes");
        Map<String, Object> row = db.sql("SELECT key_sha256, key_prefix, team FROM api_keys WHERE key_sha256 = :h")
                .bind("h", ApiKeys.sha256(key)).fetch().one().block();
        assertThat(row).containsEntry("team", "hashes");
        assertThat(key).startsWith((String) row.get("key_prefix"));
        assertThat(count("api_keys WHERE key_sha256 = '" + key + "' OR key_prefix = '" + key + "'")).isZero();
        JsonNode listed = json.readTree(http.get().uri("/v1/admin/api-keys?team=hashes")
                .header(HttpHeaders.AUTHORIZATION, "Bearer " + ADMIN_KEY).exchange().expectStatus().isOk()
                .expectBody().returnResult().getResponseBody());
        assertThat(listed.size()).isEqualTo(1);
        assertThat(listed.get(0).has("key")).isFalse();
    }

    @Test
    void missingUnknownAndRevokedKeysAre401() {
        String key = createKey(http, json, "revoked");
        String keyId = db.sql("SELECT id FROM api_keys WHERE key_sha256 = :h").bind("h", ApiKeys.sha256(key))
                .map(r -> r.get("id", UUID.class)).one().block().toString();
        assertThat(get(key, "/v1/generations").getStatus()).isEqualTo(HttpStatus.OK);
        http.delete().uri("/v1/admin/api-keys/" + keyId).header(HttpHeaders.AUTHORIZATION, "Bearer " + ADMIN_KEY)
                .exchange().expectStatus().isOk().expectBody().jsonPath("$.revoked_at").isNotEmpty();

        for (String presented : new String[] {null, "sl_not-a-key", key}) {
            EntityExchangeResult<byte[]> r = get(presented, "/v1/generations");
            assertThat(r.getStatus()).as(String.valueOf(presented)).isEqualTo(HttpStatus.UNAUTHORIZED);
            assertThat(r.getResponseHeaders().getFirst(HttpHeaders.WWW_AUTHENTICATE)).isEqualTo("Bearer");
            assertProblem(r, "unauthorized", "/v1/generations");
        }
    }

    @Test
    void keysOpenOnlyTheirOwnDoorWith403() {
        String team = createKey(http, json, "doors");
        assertProblem(get(team, "/v1/admin/api-keys"), "forbidden", "/v1/admin/api-keys");
        assertProblem(get(ADMIN_KEY, "/v1/generations"), "forbidden", "/v1/generations");
        EntityExchangeResult<byte[]> noKey = get(null, "/v1/admin/api-keys");
        assertProblem(noKey, "unauthorized", "/v1/admin/api-keys");
        // a key nobody issued is no credential at all: 401 on the admin door too, not "use the admin key, not a team key"
        EntityExchangeResult<byte[]> unknown = get("not-a-key-anyone-issued", "/v1/admin/api-keys");
        assertProblem(unknown, "unauthorized", "/v1/admin/api-keys");
        assertThat(unknown.getResponseHeaders().getFirst(HttpHeaders.WWW_AUTHENTICATE)).isEqualTo("Bearer");
    }

    @Test
    void openAiPathsRefuseWithTheirErrorMember() {
        EntityExchangeResult<byte[]> r = get(null, "/v1/models");
        assertProblem(r, "unauthorized", "/v1/models");
        assertThat(json.readTree(r.getResponseBody()).get("error").get("message").asString()).contains("Bearer");
    }

    @Test
    void adminRefusesABadTeamName() {
        byte[] body = http.post().uri("/v1/admin/api-keys").header(HttpHeaders.AUTHORIZATION, "Bearer " + ADMIN_KEY)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(Map.of("team", "Not A Team"))
                .exchange().expectStatus().isBadRequest().expectBody().returnResult().getResponseBody();
        assertThat(json.readTree(body).get("errors").get(0).get("field").asString()).isEqualTo("team");
    }

    @Test
    void probesAndMetricsNeedNoKey() {
        for (String path : List.of("/actuator/health/liveness", "/actuator/health/readiness", "/actuator/prometheus")) {
            http.get().uri(path).exchange().expectStatus().isOk();
        }
    }

    /** A generation of {@code arms} plain arms on the sample image {@code sample}. */
    private EntityExchangeResult<byte[]> generate(String key, String idempotencyKey, String sample, int arms)
            throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/" + sample));
        WebTestClient.RequestBodySpec spec = http.post().uri("/v1/generations").contentType(MediaType.APPLICATION_JSON)
                .header(HttpHeaders.AUTHORIZATION, "Bearer " + key);
        if (idempotencyKey != null) {
            spec = spec.header(Idempotency.HEADER, idempotencyKey);
        }
        return spec.bodyValue(Map.of("prompt", "describe the image .", "max_new_tokens", 3,
                        "image", Base64.getEncoder().encodeToString(png),
                        "arms", Collections.nCopies(arms, Map.of("intervention", "none"))))
                .exchange().expectStatus().isCreated().expectBody().returnResult();
    }

    private JsonNode list(String key) {
        return json.readTree(get(key, "/v1/generations?size=100").getResponseBody());
    }

    /** The team's summary over all time, summed over its arms: outputs, preferences, wins. */
    private long[] summaryTotals(String key) {
        JsonNode arms = json.readTree(get(key, "/v1/experiments/summary").getResponseBody()).get("arms");
        long[] totals = new long[3];
        arms.forEach(a -> {
            totals[0] += a.get("outputs").asLong();
            totals[1] += a.get("preferences").asLong();
            totals[2] += a.get("wins").asLong();
        });
        return totals;
    }

    private EntityExchangeResult<byte[]> get(String key, String path) {
        return send(key, HttpMethod.GET, path);
    }

    private EntityExchangeResult<byte[]> send(String key, HttpMethod method, String path) {
        WebTestClient.RequestHeadersSpec<?> spec = http.method(method).uri(path);
        if (key != null) {
            spec = spec.header(HttpHeaders.AUTHORIZATION, "Bearer " + key);
        }
        return spec.exchange().expectBody().returnResult();
    }

    private EntityExchangeResult<byte[]> post(String key, String path, Object body) {
        return http.post().uri(path).header(HttpHeaders.AUTHORIZATION, "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(body).exchange().expectBody().returnResult();
    }

    /** 404 not-found, exactly as for an id or hash that does not exist. */
    private void assertNotFound(EntityExchangeResult<byte[]> r, String path) {
        assertThat(r.getStatus()).as(path).isEqualTo(HttpStatus.NOT_FOUND);
        assertProblem(r, "not-found", path);
    }

    private void assertProblem(EntityExchangeResult<byte[]> r, String type, String instance) {
        assertThat(r.getResponseHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
        JsonNode problem = json.readTree(r.getResponseBody());
        assertThat(problem.get("type").asString()).isEqualTo(PROBLEMS + type);
        assertThat(problem.get("status").asInt()).isEqualTo(r.getStatus().value());
        assertThat(problem.get("instance").asString()).isEqualTo(instance);
    }

    private static List<String> ids(JsonNode page) {
        return page.get("items").valueStream().map(g -> g.get("id").asString()).toList();
    }

    private long count(String tableAndWhere) {
        return db.sql("SELECT count(*) AS n FROM " + tableAndWhere).map(r -> r.get("n", Long.class)).one().block();
    }
}
