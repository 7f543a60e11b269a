package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Team API keys over real HTTP with {@code sightline.auth.enabled=true}: keys made by the admin endpoint, two teams
 * that never see each other's generations, 401/403 as ProblemDetails, and the probes still open. RobustnessTest
 * shares this context (same properties).
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

        JsonNode created = json.readTree(generate(vision, null).getResponseBody());
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
        String a = json.readTree(generate(createKey(http, json, "team-a"), key).getResponseBody()).get("id").asString();
        String b = json.readTree(generate(createKey(http, json, "team-b"), key).getResponseBody()).get("id").asString();
        assertThat(a).isNotEqualTo(b);
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

    private EntityExchangeResult<byte[]> generate(String key, String idempotencyKey) throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
        WebTestClient.RequestBodySpec spec = http.post().uri("/v1/generations").contentType(MediaType.APPLICATION_JSON)
                .header(HttpHeaders.AUTHORIZATION, "Bearer " + key);
        if (idempotencyKey != null) {
            spec = spec.header(Idempotency.HEADER, idempotencyKey);
        }
        return spec.bodyValue(Map.of("prompt", "describe the image .", "max_new_tokens", 3,
                        "image", Base64.getEncoder().encodeToString(png)))
                .exchange().expectStatus().isCreated().expectBody().returnResult();
    }

    private JsonNode list(String key) {
        return json.readTree(get(key, "/v1/generations?size=100").getResponseBody());
    }

    private EntityExchangeResult<byte[]> get(String key, String path) {
        WebTestClient.RequestHeadersSpec<?> spec = http.get().uri(path);
        if (key != null) {
            spec = spec.header(HttpHeaders.AUTHORIZATION, "Bearer " + key);
        }
        return spec.exchange().expectBody().returnResult();
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
