package io.sightline.api;

import static io.sightline.api.EvaluationCalls.TWO_ARMS;
import static io.sightline.api.EvaluationCalls.id;
import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.eval.BenchmarkCatalog;
import io.sightline.scoring.CaptionItem;
import io.sightline.scoring.ChairScore;
import io.sightline.scoring.Synonyms;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
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
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Evaluations of uploaded sets (multipart {@code POST /v1/evaluations}) through the running app: a POPE upload answers
 * exactly as the same items of the shipped set, a caption upload is scored with CHAIR, an upload repeated with its
 * {@code Idempotency-Key} is replayed, and every refusal names what is wrong and stores nothing. The upload limits are
 * small here so that each can be crossed cheaply, which gives this class a context of its own.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000",
                "sightline.eval.upload.max-items=40", "sightline.eval.upload.max-images=8",
                "sightline.eval.upload.max-part-bytes=96KB", "sightline.eval.upload.max-bytes=256KB"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class UploadedSetApiTest {


    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;

    EvaluationCalls calls;

    @BeforeEach
    void calls() {
        calls = new EvaluationCalls(http, json, db);
    }

    @Test
    void anUploadedPopeSetGivesTheAnswersOfTheSameItemsFromTheShippedSet() {
        UploadedSet set = pope("first-six", 6).arms(TWO_ARMS);
        JsonNode uploaded = calls.upload(set, HttpStatus.ACCEPTED);
        JsonNode shipped = calls.post(Map.of("set", "shapes-v1/pope-adversarial", "limit", 6, "arms", TWO_ARMS),
                HttpStatus.ACCEPTED);
        assertThat(uploaded.get("set").asString()).isEqualTo("upload/first-six");
        assertThat(uploaded.get("kind").asString()).isEqualTo("pope");
        assertThat(uploaded.get("request").get("set").asString()).isEqualTo("upload/first-six");
        assertThat(uploaded.get("progress").get("total").asInt()).isEqualTo(6);
        UUID up = id(uploaded);
        UUID ship = id(shipped);

        calls.awaitStatus(up, "completed");
        calls.awaitStatus(ship, "completed");

        assertThat(answers(up)).hasSize(12).isEqualTo(answers(ship));
        assertThat(column(up, "image_sha256")).isEqualTo(column(ship, "image_sha256"));
        JsonNode item = calls.get("/v1/evaluations/" + up + "/items?size=1").get("items").get(0).get("item");
        assertThat(item.get("image").asString()).isEqualTo(set.lines.get(0).get("image").asString());
        assertThat(item.get("question_id").asLong()).isEqualTo(set.lines.get(0).get("question_id").asLong());
    }

    @Test
    void aCaptionUploadIsScoredWithChairAndTheModelsObjectWordsByDefault() {
        UploadedSet set = new UploadedSet(json, "captions-4", "chair", "captions.jsonl", 4);
        assertThat(set.lines.get(0).has("scene")).as("the shipped lines carry more than the item").isTrue();
        UUID id = id(calls.upload(set, HttpStatus.ACCEPTED));

        JsonNode done = calls.awaitStatus(id, "completed");

        Map<String, List<String>> shippedWords = BenchmarkCatalog.synonymWords(
                UploadedSet.read(UploadedSet.SHIPPED.resolve("synonyms.json")));
        String stored = db.sql("SELECT synonyms::text AS s FROM evaluations WHERE id = :id").bind("id", id)
                .map(r -> r.get("s", String.class)).one().block();
        assertThat(BenchmarkCatalog.synonymWords(stored)).isEqualTo(shippedWords);
        List<ChairScore.Outcome> outcomes = new ArrayList<>();
        for (Map<String, Object> row : db.sql("""
                        SELECT r.answer, i.payload::text AS payload FROM evaluation_results r
                        JOIN evaluation_items i USING (evaluation_id, item_index)
                        WHERE r.evaluation_id = :id ORDER BY r.item_index""")
                .bind("id", id).fetch().all().collectList().block()) {
            JsonNode payload = json.readTree((String) row.get("payload"));
            assertThat(payload.has("scene")).as("only the item's fields are stored").isFalse();
            List<String> objects = new ArrayList<>();
            payload.get("objects").forEach(o -> objects.add(o.asString()));
            CaptionItem item = new CaptionItem(payload.get("question_id").asLong(), payload.get("image").asString(),
                    payload.get("text").asString(), objects);
            outcomes.add(ChairScore.Outcome.of(item, (String) row.get("answer"), new Synonyms(shippedWords)));
        }
        assertThat(outcomes).hasSize(4);
        JsonNode metrics = done.get("report").get("arms").get(0).get("metrics");
        assertThat(metrics.get("chair_s").get("point").asDouble()).isEqualTo(ChairScore.of(outcomes).chairS());
        assertThat(metrics.get("chair_i").get("point").asDouble()).isEqualTo(ChairScore.of(outcomes).chairI());
    }

    @Test
    void aSynonymsPartIsStoredInPlaceOfTheDefault() {
        UploadedSet set = new UploadedSet(json, "own-words", "chair", "captions.jsonl", 2);
        String words = UploadedSet.read(UploadedSet.SHIPPED.resolve("synonyms.json"))
                .replace("\"circle\",", "\"circle\", \"ring\",");
        set.synonyms = words.getBytes(StandardCharsets.UTF_8);
        UUID id = id(calls.upload(set, HttpStatus.ACCEPTED));
        calls.cancel(id, HttpStatus.OK);

        String stored = db.sql("SELECT synonyms::text AS s FROM evaluations WHERE id = :id").bind("id", id)
                .map(r -> r.get("s", String.class)).one().block();
        assertThat(BenchmarkCatalog.synonymWords(stored).get("circle")).containsExactly("circle", "ring", "circles");
    }

    @Test
    void anUploadRepeatedWithItsKeyIsReplayedAndTheKeyWithOtherImageBytesIsRefused() {
        String key = UUID.randomUUID().toString();
        UploadedSet set = pope("keyed", 8);
        EntityExchangeResult<byte[]> first = calls.upload(set, key);
        long[] rows = calls.rows();

        UploadedSet reordered = pope("keyed", 8);
        List<Map.Entry<String, byte[]>> images = new ArrayList<>(reordered.images.entrySet());
        reordered.images.clear();
        Collections.reverse(images);
        images.forEach(e -> reordered.images.put(e.getKey(), e.getValue()));
        EntityExchangeResult<byte[]> repeat = calls.upload(reordered, key);

        assertThat(first.getStatus()).isEqualTo(HttpStatus.ACCEPTED);
        assertThat(images).as("the parts are reordered").hasSizeGreaterThan(1);
        assertThat(repeat.getStatus()).isEqualTo(HttpStatus.ACCEPTED);
        assertThat(repeat.getResponseHeaders().getFirst(Idempotency.REPLAYED)).isEqualTo("true");
        assertThat(json.readTree(repeat.getResponseBodyContent()).get("id"))
                .isEqualTo(json.readTree(first.getResponseBodyContent()).get("id"));
        assertThat(repeat.getResponseHeaders().getLocation()).isEqualTo(first.getResponseHeaders().getLocation());
        assertThat(calls.rows()).containsExactly(rows);

        UploadedSet changed = pope("keyed", 8);
        String filename = changed.images.keySet().iterator().next();
        changed.images.put(filename, UploadedSet.recoloured(changed.images.get(filename)));
        EntityExchangeResult<byte[]> reused = calls.upload(changed, key);
        assertThat(reused.getStatus()).isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT);
        assertThat(json.readTree(reused.getResponseBodyContent()).get("type").asString())
                .isEqualTo(ProblemType.BASE + "idempotency-key-reused");
        assertThat(calls.rows()).containsExactly(rows);
    }

    static Stream<Arguments> refusedUploads() {
        byte[] blob = new byte[90 * 1024];
        return Stream.of(
                refusal("a label neither yes nor no", "pope", s -> s.lines.get(1).put("label", "maybe"),
                        422, "invalid-set", "items[1].label"),
                refusal("a line that is not JSON", "pope",
                        s -> s.items = (new String(s.jsonl(), StandardCharsets.UTF_8) + "{\"question_id\": 9,\n")
                                .getBytes(StandardCharsets.UTF_8),
                        422, "invalid-set", "items[6]"),
                refusal("a question id twice", "pope",
                        s -> s.lines.get(2).put("question_id", s.lines.get(0).get("question_id").asLong()),
                        422, "invalid-set", "items[2].question_id"),
                refusal("an image no part brings", "pope", s -> s.lines.get(5).put("image", "absent.png"),
                        422, "invalid-set", "items[5].image"),
                refusal("an image no item uses", "pope",
                        s -> s.images.put("spare.png", UploadedSet.bytes(UploadedSet.SHIPPED.resolve("images/500014.png"))),
                        422, "invalid-set", "images[spare.png]"),
                refusal("an image the preprocessor refuses", "pope",
                        s -> s.images.replaceAll((f, b) -> "not an image".getBytes(StandardCharsets.US_ASCII)),
                        422, "invalid-set", "images[500005.png]"),
                refusal("an image sent twice", "pope",
                        s -> s.moreImages.add(Map.entry("500005.png", s.images.get("500005.png"))),
                        422, "invalid-set", "images[500005.png]"),
                refusal("no items", "pope", s -> s.items = "\n \n".getBytes(StandardCharsets.US_ASCII),
                        422, "invalid-set", "items"),
                refusal("more items than max-items", "pope",
                        s -> s.items = "{}\n".repeat(41).getBytes(StandardCharsets.US_ASCII), 422, "invalid-set", "items"),
                refusal("more images than max-images", "pope", s -> {
                    for (int i = 0; i < 8; i++) {
                        s.moreImages.add(Map.entry("more-" + i + ".png", new byte[] {1}));
                    }
                }, 422, "invalid-set", "images"),
                refusal("an object the synonyms lack", "chair", s -> s.lines.get(0).putArray("objects").add("dragon"),
                        422, "invalid-set", "items[0].objects[0]"),
                refusal("synonyms that no caption word can match", "chair",
                        s -> s.synonyms = "{\"circle\": [\"Round Thing\"]}".getBytes(StandardCharsets.UTF_8),
                        422, "invalid-set", "synonyms.circle"),
                refusal("synonyms for a pope set", "pope", s -> s.synonyms = "{}".getBytes(StandardCharsets.US_ASCII),
                        422, "invalid-set", "synonyms"),
                refusal("a part above max-part-bytes", "pope", s -> s.items = new byte[100 * 1024],
                        413, "payload-too-large", "max-part-bytes"),
                refusal("a body above max-bytes", "pope", s -> {
                    for (String name : List.of("a.png", "b.png", "c.png")) {
                        s.moreImages.add(Map.entry(name, blob));
                    }
                }, 413, "payload-too-large", "max-bytes"),
                refusal("an unknown part", "pope", s -> s.extra.put("notes", new byte[] {'x'}),
                        400, "invalid-request", "notes"),
                refusal("an image part without a filename", "pope", s -> s.extra.put("images", new byte[] {'x'}),
                        400, "invalid-request", "images"),
                refusal("a shipped set named too", "pope", s -> s.request.put("set", "shapes-v1/pope-random"),
                        400, "invalid-request", "set"),
                refusal("a kind uploads do not take", "pope",
                        s -> s.request.put("upload", Map.of("name", "x", "kind", "sycophancy")),
                        400, "invalid-request", "upload.kind"),
                refusal("a name with a slash", "pope", s -> s.request.put("upload", Map.of("name", "a/b", "kind", "pope")),
                        400, "invalid-request", "upload.name"),
                refusal("a limit above the items", "pope", s -> s.request.put("limit", 7),
                        400, "invalid-request", "limit"),
                refusal("an unknown intervention", "pope",
                        s -> s.request.put("arms", List.of(Map.of("intervention", "nope"))),
                        422, "unknown-intervention", "nope"));
    }

    private static Arguments refusal(String name, String kind, Consumer<UploadedSet> change, int status, String type,
                                     String named) {
        return Arguments.of(name, kind, change, status, type, named);
    }

    @ParameterizedTest(name = "{0} -> {3} {4}")
    @MethodSource("refusedUploads")
    void refusedUploadsNameTheProblemAndLeaveNoRows(String name, String kind, Consumer<UploadedSet> change,
                                                    int status, String type, String named) {
        UploadedSet set = kind.equals("pope") ? pope("refused", 6)
                : new UploadedSet(json, "refused", "chair", "captions.jsonl", 3);
        change.accept(set);
        long[] rows = calls.rows();

        JsonNode problem = calls.upload(set, HttpStatus.valueOf(status));

        assertThat(problem.get("type").asString()).isEqualTo(ProblemType.BASE + type);
        assertThat(problem.get("instance").asString()).isEqualTo("/v1/evaluations");
        if (problem.has("errors")) {
            assertThat(problem.get("errors").findValuesAsString("field")).as(problem.toString()).contains(named);
        } else {
            assertThat(problem.get("detail").asString()).contains(named);
        }
        assertThat(calls.rows()).containsExactly(rows);
    }

    /** The first {@code n} questions of the shipped pope-adversarial split; the first six ask about 500005.png. */
    private UploadedSet pope(String name, int n) {
        UploadedSet set = new UploadedSet(json, name, "pope", "pope-adversarial.jsonl", n);
        assertThat(set.images).containsKey("500005.png");
        return set;
    }

    private List<Map<String, Object>> answers(UUID id) {
        return db.sql("""
                        SELECT item_index, arm_index, intervention, answer, tokens FROM evaluation_results
                        WHERE evaluation_id = :id ORDER BY item_index, arm_index""")
                .bind("id", id).fetch().all().collectList().block();
    }

    private List<Object> column(UUID id, String column) {
        return db.sql("SELECT " + column + " AS c FROM evaluation_items WHERE evaluation_id = :id ORDER BY item_index")
                .bind("id", id).map(r -> r.get("c")).all().collectList().block();
    }
}
