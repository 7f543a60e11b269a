package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.engine.ModelBundle;
import io.sightline.vision.CraftedImages;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.BodyInserters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The running app over real HTTP, with the shipped model and an embedded PostgreSQL: what a response says is
 * what the database holds, and every refused request leaves the tables as they were.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class GenerationApiTest {

    private static final Path SAMPLES = Path.of("onnx-models/samples");
    private static final Path GOLDENS = Path.of("onnx-models/shapes-vlm/goldens");
    private static final String PROMPT = "describe the image .";

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;
    @Autowired
    ModelBundle model;
    @LocalServerPort
    int port;

    /**
     * A client that goes away mid-decode: the decode is cancelled and the generation is stored as failed with the
     * reason. Eight CARVE arms (each with its own probe generations) keep the engine busy for over a second on this
     * model, while the connection is closed as soon as the row shows {@code running}.
     */
    @Test
    void aClientThatGoesAwayCancelsItsDecodeAndTheGenerationIsStoredFailedWithTheReason() throws Exception {
        List<Map<String, Object>> arms = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            arms.add(Map.of("intervention", "carve"));
        }
        Map<String, Object> body = new java.util.LinkedHashMap<>(Map.of("prompt", PROMPT, "max_new_tokens", 64,
                "arms", arms));
        body.put("image", Base64.getEncoder().encodeToString(Files.readAllBytes(SAMPLES.resolve("scene-a.png"))));
        byte[] bytes = json.writeValueAsBytes(body);
        OffsetDateTime before = db.sql("SELECT now() AS t").map(r -> r.get("t", OffsetDateTime.class))
                .one().block();
        String newest = "SELECT id, status, reason FROM generations WHERE created_at >= :t ORDER BY created_at DESC LIMIT 1";

        try (Socket socket = new Socket("localhost", port)) {
            socket.getOutputStream().write(("POST /v1/generations HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            Map<String, Object> row = awaitRow(newest, before, "running");
            assertThat(row.get("status")).as("the generation must still be decoding when the client leaves")
                    .isEqualTo("running");
        }

        Map<String, Object> row = awaitRow(newest, before, "failed");
        assertThat(row).containsEntry("status", "failed").containsEntry("reason", "cancelled: the client went away");
        assertThat(db.sql("SELECT count(*) AS n FROM outputs WHERE generation_id = :id").bind("id", row.get("id"))
                .map(r -> r.get("n", Long.class)).one().block()).as("a cancelled generation has no outputs").isZero();
    }

    /** The newest generation since {@code since} once it is no longer in an earlier state than {@code status}. */
    private Map<String, Object> awaitRow(String sql, OffsetDateTime since, String status) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Map<String, Object> row = db.sql(sql).bind("t", since).fetch().one().block();
            boolean reached = row != null && (status.equals("running") || !row.get("status").equals("running"));
            if (reached || System.nanoTime() > deadline) {
                return row;
            }
            Thread.sleep(5);
        }
    }

    @Test
    void aComposedArmDecodesBesidePlainDecodingAndIsStoredUnderItsCompositeName() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-c.png"));
        JsonNode g = post(base64Json(png, Map.of("prompt", PROMPT, "max_new_tokens", 12, "arms", List.of(
                Map.of("intervention", "var+vcd", "params", Map.of("vcd", Map.of("alpha", 0.5))),
                Map.of("intervention", "none")))), HttpStatus.CREATED);
        assertThat(g.get("status").asString()).isEqualTo("completed");
        JsonNode composed = g.get("outputs").get(0);
        assertThat(composed.get("intervention").asString()).isEqualTo("var+vcd");
        assertThat(composed.get("params").get("vcd").get("alpha").asDouble()).isEqualTo(0.5);
        assertThat(composed.get("params").get("var").get("p").asDouble()).isEqualTo(0.4);
        assertThat(composed.get("text").asString()).isNotBlank();
        String stored = db.sql("SELECT intervention FROM outputs WHERE generation_id = :id AND arm_index = 0")
                .bind("id", UUID.fromString(g.get("id").asString())).map(r -> r.get("intervention", String.class))
                .one().block();
        assertThat(stored).isEqualTo("var+vcd");
    }

    @Test
    void interventionsListEveryServedMethodWithItsSchema() {
        JsonNode list = http.get().uri("/v1/interventions").exchange().expectStatus().isOk()
                .expectBody(JsonNode.class).returnResult().getResponseBody();
        List<String> names = new ArrayList<>();
        list.forEach(m -> names.add(m.get("name").asString()));
        assertThat(names).first().isEqualTo("none");
        assertThat(names).contains("m3id");
        for (JsonNode m : list) {
            assertThat(m.get("summary").asString()).as(m.get("name").asString()).isNotBlank();
            if (!m.get("name").asString().equals("none")) {
                assertThat(m.get("paper").asString()).as(m.get("name").asString()).isNotBlank();
                assertThat(m.get("parameters").size()).as(m.get("name").asString()).isPositive();
            }
        }
        JsonNode m3id = list.get(names.indexOf("m3id"));
        JsonNode lam = null;
        for (JsonNode p : m3id.get("parameters")) {
            lam = p.get("name").asString().equals("lam") ? p : lam;
        }
        assertThat(lam.get("type").asString()).isEqualTo("number");
        assertThat(lam.get("default").asDouble()).isEqualTo(0.02);
        assertThat(lam.get("minimum").asDouble()).isEqualTo(0.0);
    }

    @Test
    void multipartSampleCompletesAndTheStoredRowsMatchTheResponse() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-a.png"));

        JsonNode body = post(multipart(png, Map.of("prompt", PROMPT, "max_new_tokens", 12)), HttpStatus.CREATED);

        assertThat(body.get("status").asString()).isEqualTo("completed");
        assertThat(body.get("prompt").asString()).isEqualTo(PROMPT);
        assertThat(body.get("image").get("sha256").asString()).isEqualTo(sha256(png));
        assertThat(body.get("image").get("media_type").asString()).isEqualTo("image/png");
        assertThat(body.get("request").get("max_new_tokens").asInt()).isEqualTo(12);
        JsonNode output = body.get("outputs").get(0);
        assertThat(body.get("outputs").size()).isEqualTo(1);
        assertThat(output.get("intervention").asString()).isEqualTo("none");
        assertThat(output.get("tokens").size()).isBetween(1, 12);
        assertThat(output.get("logprobs").size()).isEqualTo(output.get("tokens").size());
        assertThat(output.get("text").asString()).isNotBlank();

        UUID id = UUID.fromString(body.get("id").asString());
        Map<String, Object> generation = db.sql("SELECT status, prompt, image_sha256, finished_at IS NOT NULL AS finished,"
                        + " latency_ms FROM generations WHERE id = :id").bind("id", id).fetch().one().block();
        assertThat(generation).containsEntry("status", "completed").containsEntry("prompt", PROMPT)
                .containsEntry("image_sha256", sha256(png)).containsEntry("finished", true);
        assertThat((Double) generation.get("latency_ms")).isEqualTo(body.get("latency_ms").asDouble()).isPositive();

        Map<String, Object> row = db.sql("SELECT arm_index, intervention, text, tokens, logprobs::text AS logprobs"
                + " FROM outputs WHERE generation_id = :id").bind("id", id).fetch().one().block();
        assertThat(row).containsEntry("arm_index", 0).containsEntry("intervention", "none")
                .containsEntry("text", output.get("text").asString());
        assertThat((Integer[]) row.get("tokens")).containsExactly(ints(output.get("tokens")));
        assertThat(json.readTree((String) row.get("logprobs"))).isEqualTo(output.get("logprobs"));

        Map<String, Object> image = db.sql("SELECT media_type, width, height, length(bytes) AS size FROM images"
                + " WHERE sha256 = :sha").bind("sha", sha256(png)).fetch().one().block();
        assertThat(image).containsEntry("media_type", "image/png").containsEntry("width", 48)
                .containsEntry("height", 48).containsEntry("size", png.length);

        JsonNode fetched = get("/v1/generations/" + id, HttpStatus.OK);
        assertThat(fetched).isEqualTo(body);
    }

    @Test
    void base64JsonGivesTheSameGreedyAnswerAndStoresTheImageOnce() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-b.png"));
        JsonNode fromMultipart = post(multipart(png, Map.of("prompt", PROMPT, "max_new_tokens", 10)), HttpStatus.CREATED);
        long images = count("images");

        JsonNode fromJson = post(base64Json(png, Map.of("prompt", PROMPT, "max_new_tokens", 10)), HttpStatus.CREATED);
        JsonNode fromDataUrl = post(jsonBody(Map.of("prompt", PROMPT, "max_new_tokens", 10,
                "image", "data:image/png;base64," + Base64.getEncoder().encodeToString(png))), HttpStatus.CREATED);

        assertThat(fromJson.get("id")).isNotEqualTo(fromMultipart.get("id"));
        for (JsonNode other : List.of(fromJson, fromDataUrl)) {
            assertThat(other.get("status").asString()).isEqualTo("completed");
            assertThat(other.get("outputs").get(0).get("tokens")).isEqualTo(fromMultipart.get("outputs").get(0).get("tokens"));
            assertThat(other.get("outputs").get(0).get("text")).isEqualTo(fromMultipart.get("outputs").get(0).get("text"));
        }
        assertThat(count("images")).isEqualTo(images);
    }

    @Test
    void severalArmsComeBackInRequestOrder() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-c.png"));
        JsonNode body = post(base64Json(png, Map.of("prompt", PROMPT, "max_new_tokens", 6,
                "arms", List.of(Map.of("intervention", "none"), Map.of("intervention", "none", "params", Map.of())))),
                HttpStatus.CREATED);

        assertThat(body.get("outputs").size()).isEqualTo(2);
        assertThat(body.get("outputs").get(0).get("arm").asInt()).isEqualTo(0);
        assertThat(body.get("outputs").get(1).get("arm").asInt()).isEqualTo(1);
        assertThat(body.get("outputs").get(1).get("tokens")).isEqualTo(body.get("outputs").get(0).get("tokens"));
        Long stored = db.sql("SELECT count(*) AS n FROM outputs WHERE generation_id = :id")
                .bind("id", UUID.fromString(body.get("id").asString())).map(r -> r.get("n", Long.class)).one().block();
        assertThat(stored).isEqualTo(2);
    }

    /** Cases of onnx-models/shapes-vlm/goldens with an image and neutral controls: the app must say the same. */
    @TestFactory
    Stream<DynamicTest> greedyAnswerEqualsTheGoldenFile() throws Exception {
        List<JsonNode> cases = new ArrayList<>();
        if (Files.isDirectory(GOLDENS)) {
            try (Stream<Path> files = Files.list(GOLDENS)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                    JsonNode root = json.readTree(file.toFile());
                    for (JsonNode c : root.isArray() ? root : List.of(root)) {
                        if (c.hasNonNull("image") && c.path("controls").isArray() && c.path("controls").isEmpty()
                                && "greedy".equals(c.path("decoding").path("mode").asString(""))) {
                            cases.add(c);
                        }
                    }
                }
            }
        }
        int eos = model.specialTokens().eosId();
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.path("case").asString("golden"), () -> {
            byte[] image = Files.readAllBytes(Path.of("onnx-models").resolve(c.get("image").asString()));
            JsonNode body = post(base64Json(image, Map.of("prompt", c.get("prompt").asString(),
                    "max_new_tokens", c.get("decoding").get("max_new_tokens").asInt())), HttpStatus.CREATED);
            JsonNode output = body.get("outputs").get(0);
            List<Integer> expected = new ArrayList<>(List.of(ints(c.get("tokens"))));
            if (!expected.isEmpty() && expected.get(expected.size() - 1) == eos) {
                expected.remove(expected.size() - 1);   // goldens list the eos that ended decoding; the API does not
            }
            assertThat(ints(output.get("tokens"))).containsExactlyElementsOf(expected);
            assertThat(output.get("text").asString()).isEqualTo(c.get("text").asString());
        }));
    }

    static Stream<Arguments> refusedRequests() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-a.png"));
        byte[] random = new byte[2048];
        new java.util.Random(5).nextBytes(random);
        random[0] = 'r';
        byte[] tooBig = Arrays.copyOf(png, 80 * 1024);           // over the test's 64KB limit, under the part limit
        byte[] wayTooBig = Arrays.copyOf(png, 2 * 1024 * 1024);  // over the multipart part limit: refused while read
        Map<String, Object> ok = Map.of("prompt", PROMPT);
        return Stream.of(
                Arguments.of("random bytes", multipart(random, ok), 415, "unsupported-media-type"),
                Arguments.of("empty image part", multipart(new byte[0], ok), 415, "unsupported-media-type"),
                Arguments.of("too many bytes", multipart(tooBig, ok), 413, "payload-too-large"),
                Arguments.of("far too many bytes", multipart(wayTooBig, ok), 413, "payload-too-large"),
                Arguments.of("too many bytes as base64", base64Json(tooBig, ok), 413, "payload-too-large"),
                Arguments.of("pixel bomb", multipart(CraftedImages.pngHeader(100_000, 100_000), ok), 422, "image-too-large"),
                Arguments.of("truncated png", multipart(Arrays.copyOf(png, png.length / 2), ok), 422, "invalid-image"),
                Arguments.of("unknown intervention", multipart(png, Map.of("prompt", PROMPT,
                        "arms", List.of(Map.of("intervention", "no-such-method")))), 422, "unknown-intervention"),
                Arguments.of("unknown parameter", base64Json(png, Map.of("prompt", PROMPT,
                        "arms", List.of(Map.of("intervention", "none", "params", Map.of("alpha", 1))))), 422, "invalid-params"),
                Arguments.of("blank prompt", base64Json(png, Map.of("prompt", "   ")), 400, "invalid-request"),
                Arguments.of("missing prompt", base64Json(png, Map.of()), 400, "invalid-request"),
                Arguments.of("prompt too long", base64Json(png, Map.of("prompt", "a".repeat(2001))), 400, "invalid-request"),
                Arguments.of("out-of-range decoding", base64Json(png, Map.of("prompt", PROMPT, "top_p", 0,
                        "max_new_tokens", 0)), 400, "invalid-request"),
                Arguments.of("too many arms", base64Json(png, Map.of("prompt", PROMPT,
                        "arms", java.util.Collections.nCopies(9, Map.of("intervention", "none")))), 400, "invalid-request"),
                Arguments.of("no arms", base64Json(png, Map.of("prompt", PROMPT, "arms", List.of())), 400, "invalid-request"),
                Arguments.of("unknown field", base64Json(png, Map.of("prompt", PROMPT, "max_tokens", 5)), 400, "invalid-request"),
                Arguments.of("string for a number", base64Json(png, Map.of("prompt", PROMPT, "max_new_tokens", "5")), 400, "invalid-request"),
                Arguments.of("malformed json", raw(MediaType.APPLICATION_JSON, "{\"prompt\": "), 400, "invalid-request"),
                Arguments.of("empty json body", raw(MediaType.APPLICATION_JSON, ""), 400, "invalid-request"),
                Arguments.of("bad base64", jsonBody(Map.of("prompt", PROMPT, "image", "%%%not base64%%%")), 400, "invalid-request"),
                Arguments.of("no image in json", jsonBody(Map.of("prompt", PROMPT)), 400, "invalid-request"),
                Arguments.of("malformed request part", multipartRaw(png, "{oops"), 400, "invalid-request"),
                Arguments.of("no image part", multipartRaw(null, "{\"prompt\": \"hi\"}"), 400, "invalid-request"),
                Arguments.of("text/plain body", raw(MediaType.TEXT_PLAIN, "describe"), 415, "unsupported-media-type"),
                Arguments.of("parts that cannot compose", base64Json(png, Map.of("prompt", PROMPT,
                        "arms", List.of(Map.of("intervention", "var+gift")))), 422, "invalid-params"));
    }

    @ParameterizedTest(name = "{0} -> {2} {3}")
    @MethodSource("refusedRequests")
    void refusedRequestsGetTheirProblemTypeAndLeaveNoRows(String name, Request request, int status, String type) {
        long[] before = {count("images"), count("generations"), count("outputs")};

        JsonNode problem = exchange(request, HttpStatus.valueOf(status));

        assertThat(problem.get("type").asString()).isEqualTo("https://sightline.dev/problems/" + type);
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("detail").asString()).isNotBlank();
        assertThat(problem.get("instance").asString()).isEqualTo("/v1/generations");
        assertThat(new long[] {count("images"), count("generations"), count("outputs")}).containsExactly(before);
    }

    @Test
    void unknownInterventionListsTheKnownOnes() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-a.png"));
        JsonNode problem = exchange(base64Json(png, Map.of("prompt", PROMPT,
                "arms", List.of(Map.of("intervention", "none"), Map.of("intervention", "vcdx")))), HttpStatus.UNPROCESSABLE_CONTENT);
        assertThat(problem.get("known").isArray()).isTrue();
        assertThat(problem.get("known").toString()).contains("\"none\"");
        assertThat(problem.get("detail").asString()).contains("vcdx");
    }

    @Test
    void invalidRequestNamesEveryOffendingField() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-a.png"));
        JsonNode problem = exchange(base64Json(png, Map.of("prompt", "", "temperature", 3.5, "top_k", -1)),
                HttpStatus.BAD_REQUEST);
        List<String> fields = new ArrayList<>();
        problem.get("errors").forEach(e -> fields.add(e.get("field").asString()));
        assertThat(fields).containsExactlyInAnyOrder("prompt", "temperature", "top_k");
    }

    @Test
    void listIsPagedNewestFirstAndFiltersByIntervention() throws Exception {
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-c.png"));
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            created.add(post(base64Json(png, Map.of("prompt", PROMPT, "max_new_tokens", 2)), HttpStatus.CREATED)
                    .get("id").asString());
        }
        long total = count("generations");

        JsonNode first = get("/v1/generations?page=0&size=2", HttpStatus.OK);
        JsonNode second = get("/v1/generations?page=1&size=2", HttpStatus.OK);

        assertThat(first.get("total").asLong()).isEqualTo(total);
        assertThat(first.get("size").asInt()).isEqualTo(2);
        assertThat(first.get("items").size()).isEqualTo(2);
        assertThat(first.get("items").get(0).get("id").asString()).isEqualTo(created.get(2));
        assertThat(first.get("items").get(1).get("id").asString()).isEqualTo(created.get(1));
        assertThat(second.get("items").get(0).get("id").asString()).isEqualTo(created.get(0));
        assertThat(first.get("items").get(0).get("outputs").size()).isEqualTo(1);

        // other tests of the shared app context store generations with other arms (vcd, carve only, ...): each
        // filter must agree with the table
        JsonNode none = get("/v1/generations?intervention=none&size=100", HttpStatus.OK);
        assertThat(none.get("total").asLong()).isEqualTo(withArm("none")).isGreaterThanOrEqualTo(created.size());
        JsonNode vcd = get("/v1/generations?intervention=vcd&size=100", HttpStatus.OK);
        assertThat(vcd.get("total").asLong()).isEqualTo(withArm("vcd")).isLessThan(total);
        vcd.get("items").forEach(g -> assertThat(g.get("outputs").findValuesAsString("intervention")).contains("vcd"));
    }

    private long withArm(String intervention) {
        return db.sql("SELECT count(*) AS n FROM generations WHERE :i = ANY(interventions)").bind("i", intervention)
                .map(r -> r.get("n", Long.class)).one().block();
    }

    @Test
    void listRejectsOutOfRangePaging() {
        for (String query : List.of("size=0", "size=101", "page=-1", "size=abc")) {
            JsonNode problem = get("/v1/generations?" + query, HttpStatus.BAD_REQUEST);
            assertThat(problem.get("type").asString()).isEqualTo("https://sightline.dev/problems/invalid-request");
        }
    }

    @Test
    void unknownIdIsNotFound() {
        for (String id : List.of(UUID.randomUUID().toString(), "not-a-uuid")) {
            JsonNode problem = get("/v1/generations/" + id, HttpStatus.NOT_FOUND);
            assertThat(problem.get("type").asString()).isEqualTo("https://sightline.dev/problems/not-found");
            assertThat(problem.get("instance").asString()).isEqualTo("/v1/generations/" + id);
        }
    }

    /** A request the tests send: content type and body. */
    record Request(MediaType contentType, Object body) {
        @Override
        public String toString() {
            return contentType.toString();
        }
    }

    static Request multipart(byte[] image, Map<String, Object> request) {
        return multipartRaw(image, JsonMapper.builder().build().writeValueAsString(request));
    }

    static Request multipartRaw(byte[] image, String requestJson) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        if (image != null) {
            parts.part("image", new ByteArrayResource(image) {
                @Override
                public String getFilename() {
                    return "upload.png";
                }
            }).contentType(MediaType.IMAGE_PNG);
        }
        parts.part("request", requestJson, MediaType.APPLICATION_JSON);
        return new Request(MediaType.MULTIPART_FORM_DATA, parts.build());
    }

    static Request base64Json(byte[] image, Map<String, Object> fields) {
        Map<String, Object> body = new java.util.LinkedHashMap<>(fields);
        body.put("image", Base64.getEncoder().encodeToString(image));
        return jsonBody(body);
    }

    static Request jsonBody(Map<String, Object> body) {
        return raw(MediaType.APPLICATION_JSON, JsonMapper.builder().build().writeValueAsString(body));
    }

    static Request raw(MediaType type, String body) {
        return new Request(type, body);
    }

    private JsonNode post(Request request, HttpStatus expected) {
        return exchange(request, expected);
    }

    @SuppressWarnings("unchecked")
    private JsonNode exchange(Request request, HttpStatus expected) {
        WebTestClient.RequestBodySpec spec = http.post().uri("/v1/generations").contentType(request.contentType());
        WebTestClient.RequestHeadersSpec<?> withBody = request.body() instanceof String s
                ? spec.bodyValue(s)
                : spec.body(BodyInserters.fromMultipartData((org.springframework.util.MultiValueMap<String, org.springframework.http.HttpEntity<?>>) request.body()));
        byte[] body = withBody.exchange().expectStatus().isEqualTo(expected).expectBody().returnResult().getResponseBody();
        return json.readTree(body);
    }

    private JsonNode get(String uri, HttpStatus expected) {
        byte[] body = http.get().uri(uri).exchange().expectStatus().isEqualTo(expected).expectBody().returnResult()
                .getResponseBody();
        return json.readTree(body);
    }

    private long count(String table) {
        return db.sql("SELECT count(*) AS n FROM " + table).map(r -> r.get("n", Long.class)).one().block();
    }

    private static Integer[] ints(JsonNode array) {
        Integer[] out = new Integer[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
