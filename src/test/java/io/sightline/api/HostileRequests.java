package io.sightline.api;

import io.sightline.vision.CraftedImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import tools.jackson.databind.json.JsonMapper;

/**
 * RobustnessTest's requests, endpoint by endpoint, drawn from a fixed seed: malformed and truncated JSON, hostile
 * images (lying, corrupt or truncated headers, zero bytes, random bytes behind real magic numbers, oversized uploads
 * and data URLs; also as the image of an uploaded evaluation set), URLs the service must never fetch, bad parameters, bad query parameters and ids, bad
 * {@code Idempotency-Key} headers, missing, unknown, revoked and misplaced API keys, and random bytes under every
 * content type. None of them may succeed or store anything.
 */
final class HostileRequests {

    static final String GENERATIONS = "/v1/generations";
    static final String CHAT = "/v1/chat/completions";
    static final String MODELS = "/v1/models";
    static final String EVALUATIONS = "/v1/evaluations";
    static final String ADMIN_KEYS = "/v1/admin/api-keys";
    private static final String SUMMARY = "/v1/experiments/summary";
    private static final String IMAGES = "/v1/images/";
    private static final String PROMPT = "describe the image .";
    private static final String SET = "shapes-v1/pope-adversarial";
    private static final int RANDOM_CASES_PER_ENDPOINT = 25;
    /** sightline.limits.max-image-bytes (10MB) in the test context. */
    private static final int MAX_IMAGE_BYTES = 10 * 1024 * 1024;
    private static final List<MediaType> CONTENT_TYPES = List.of(MediaType.APPLICATION_JSON, MediaType.MULTIPART_FORM_DATA,
            MediaType.TEXT_PLAIN, MediaType.APPLICATION_OCTET_STREAM, MediaType.IMAGE_PNG, MediaType.APPLICATION_XML);
    private static final List<String> MALFORMED_JSON = List.of("", "{", "[", "null", "\"text\"", "42", "{\"prompt\":",
            "{\"prompt\": \"a\",}", "[".repeat(5000) + "]".repeat(5000), "{\"max_new_tokens\": 1e999999}",
            "{\"temperature\": NaN}", "\u0000\u0001\u0002", "{\"prompt\": \"\\ud800\"}");

    /**
     * One hostile request.
     *
     * @param body          bytes, or multipart parts
     * @param authorization the {@code Authorization} header; null: none
     * @param headers       further headers
     */
    record Case(String name, HttpMethod method, String path, MediaType type, Object body, String authorization,
                Map<String, String> headers) {
    }

    /** The API keys the requests present: a team's, the admin key, and a revoked team key. */
    record Callers(String team, String admin, String revoked) {
    }

    private final Random random;
    private final Callers callers;
    private final JsonMapper json;
    private final String generationId;
    private final byte[] png;
    private final List<Case> cases = new ArrayList<>();

    /** @param generationId a completed two-arm generation of the team, for feedback */
    private HostileRequests(Random random, Callers callers, JsonMapper json, String generationId) throws IOException {
        this.random = random;
        this.callers = callers;
        this.json = json;
        this.generationId = generationId;
        this.png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
    }

    static List<Case> all(long seed, Callers callers, JsonMapper json, String generationId) throws IOException {
        HostileRequests r = new HostileRequests(new Random(seed), callers, json, generationId);
        r.generations();
        r.chat();
        r.evaluations();
        r.feedback();
        r.reads();
        r.admin();
        r.idempotency();
        r.auth();
        return r.cases;
    }

    private void generations() {
        for (String body : MALFORMED_JSON) {
            team("malformed json " + abbreviate(body), HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON, bytes(body));
        }
        for (Map.Entry<String, byte[]> image : images().entrySet()) {
            multipart("image " + image.getKey(), image.getValue(), Map.of("prompt", PROMPT));
            team("image " + image.getKey() + " as base64", HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON,
                    json(generation(image.getValue(), Map.of())));
        }
        List<Map<String, Object>> badFields = List.of(
                Map.of("prompt", "a".repeat(2001)), Map.of("prompt", "a".repeat(1_000_000)), Map.of("prompt", ""),
                Map.of("max_new_tokens", -1), Map.of("max_new_tokens", Integer.MAX_VALUE), Map.of("max_new_tokens", 1.5),
                Map.of("temperature", -0.1), Map.of("temperature", 1e308), Map.of("top_p", 0), Map.of("top_k", -5),
                Map.of("seed", "x"), Map.of("stop", List.of("")), Map.of("stop", Collections.nCopies(50, "a")),
                Map.of("arms", List.of()), Map.of("arms", List.of(Map.of("intervention", "vcd", "params", Map.of("alpha", -1e9)))),
                Map.of("arms", List.of(Map.of("intervention", "vcd", "params", Map.of("alpha", Map.of("nested", 1))))),
                Map.of("arms", List.of(Map.of("intervention", "no-such"))), Map.of("arms", "none"),
                Map.of("arms", List.of(Map.of("intervention", "none", "params", List.of(1)))), Map.of("unknown", 1),
                Map.of("timeout_ms", 0), Map.of("timeout_ms", Long.MAX_VALUE));
        for (Map<String, Object> fields : badFields) {
            String name = "bad field " + abbreviate(fields.toString());
            team(name, HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON, json(generation(png, fields)));
            multipart(name + " (multipart)", png, withPrompt(fields));
        }
        for (Map.Entry<String, String> url : hugeDataUrls().entrySet()) {
            Map<String, Object> body = withPrompt(Map.of());
            body.put("image", url.getValue());
            team("generation with " + url.getKey(), HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON, json(body));
        }
        multipart("image part over the image limit", randomBytes(MAX_IMAGE_BYTES + 1024), Map.of("prompt", PROMPT));
        String valid = new String(json(generation(png, Map.of("max_new_tokens", 2))), StandardCharsets.UTF_8);
        for (int i = 0; i < RANDOM_CASES_PER_ENDPOINT; i++) {
            team("valid json truncated #" + i, HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON,
                    bytes(valid.substring(0, random.nextInt(valid.length() - 1))));
        }
        randomBodies(GENERATIONS, callers.team());
        for (int i = 0; i < RANDOM_CASES_PER_ENDPOINT; i++) {
            team("query #" + i, HttpMethod.GET, GENERATIONS + "?page=" + (-1 - random.nextInt(1000)), null, null);
            team("query #" + i, HttpMethod.GET, GENERATIONS + "?size=" + (101 + random.nextInt(1000)), null, null);
            team("unknown id #" + i, HttpMethod.GET, GENERATIONS + "/" + random.nextLong(), null, null);
        }
        team("page not a number", HttpMethod.GET, GENERATIONS + "?page=abc", null, null);
        team("random uuid", HttpMethod.GET, GENERATIONS + "/" + UUID.randomUUID(), null, null);
    }

    private void chat() {
        for (String body : MALFORMED_JSON) {
            team("malformed json " + abbreviate(body), HttpMethod.POST, CHAT, MediaType.APPLICATION_JSON, bytes(body));
        }
        for (Map.Entry<String, byte[]> image : images().entrySet()) {
            team("image " + image.getKey() + " in a chat", HttpMethod.POST, CHAT, MediaType.APPLICATION_JSON,
                    json(chat(dataUrl(image.getValue()), Map.of())));
        }
        // never fetched, whatever the scheme's case or the host (cloud metadata, loopback, files)
        for (String url : List.of("http://example.com/a.png", "https://example.com/a.png", "HTTPS://EXAMPLE.COM/A.PNG",
                "http://169.254.169.254/latest/meta-data/", "http://localhost:8080/v1/images/x", "ftp://example.com/a.png",
                "file:///etc/passwd", "javascript:alert(1)", "gopher://example.com/", "//example.com/a.png",
                "data:text/plain;base64,aGVsbG8=", "data:image/png,notbase64", "data:image/png;base64,", "data:;base64,iVBO",
                "data:image/png;base64,====", "")) {
            team("image url " + abbreviate(url), HttpMethod.POST, CHAT, MediaType.APPLICATION_JSON, json(chat(url, Map.of())));
        }
        for (Map.Entry<String, String> url : hugeDataUrls().entrySet()) {
            team("chat with " + url.getKey(), HttpMethod.POST, CHAT, MediaType.APPLICATION_JSON, json(chat(url.getValue(), Map.of())));
        }
        List<Map<String, Object>> badFields = List.of(Map.of("max_tokens", 0), Map.of("n", 0), Map.of("n", 1000),
                Map.of("n", "2"), Map.of("n", 1.5), Map.of("temperature", 5), Map.of("temperature", -1), Map.of("top_p", 0),
                Map.of("seed", "x"), Map.of("seed", 1e30), Map.of("stream", "yes"), Map.of("model", "gpt-4"),
                Map.of("intervention", Map.of("name", "no-such")), Map.of("intervention", List.of()),
                Map.of("intervention", Map.of("name", 5)), Map.of("intervention", Map.of("name", "vcd", "params", Map.of("alpha", -1))),
                Map.of("stop", 7), Map.of("stop", Collections.nCopies(9, "a")), Map.of("messages", List.of()),
                Map.of("messages", List.of(Map.of("role", "robot", "content", PROMPT))),
                Map.of("messages", List.of(Map.of("role", "user", "content", List.of()))),
                Map.of("messages", List.of(Map.of("role", "user", "content", List.of(Map.of("type", "input_audio"))))),
                Map.of("messages", "hello"), Map.of("max_tokens", 4, "max_completion_tokens", 4),
                Map.of("top_logprobs", 99), Map.of("top_logprobs", 2), Map.of("logprobs", true, "top_logprobs", 21),
                Map.of("logprobs", true, "top_logprobs", -1), Map.of("logprobs", true, "top_logprobs", "5"),
                Map.of("logprobs", true, "top_logprobs", 1.5), Map.of("logprobs", "yes"),
                Map.of("stream_options", Map.of("include_usage", true)),
                Map.of("stream", true, "stream_options", Map.of("include_usage", "yes")),
                Map.of("stream", true, "max_tokens", 100_000), Map.of("tools", List.of()),
                Map.of("response_format", Map.of("type", "json_object")));
        for (Map<String, Object> fields : badFields) {
            team("bad chat field " + abbreviate(fields.toString()), HttpMethod.POST, CHAT, MediaType.APPLICATION_JSON,
                    json(chat(dataUrl(png), fields)));
        }
        randomBodies(CHAT, callers.team());
        team("models by PUT", HttpMethod.PUT, MODELS, MediaType.APPLICATION_JSON, bytes("{}"));
        team("chat completions by GET", HttpMethod.GET, CHAT, null, null);
    }

    private void evaluations() {
        for (String body : MALFORMED_JSON) {
            team("malformed json " + abbreviate(body), HttpMethod.POST, EVALUATIONS, MediaType.APPLICATION_JSON, bytes(body));
        }
        List<Map<String, Object>> bodies = List.of(Map.of(), Map.of("set", 5), Map.of("set", "no-such/set"),
                Map.of("set", "../../etc/passwd"), Map.of("set", SET, "limit", 0), Map.of("set", SET, "limit", -1),
                Map.of("set", SET, "limit", 1.5), Map.of("set", SET, "limit", 10_000_000_000L),
                Map.of("set", SET, "arms", List.of()), Map.of("set", SET, "arms", List.of(Map.of("intervention", "no-such"))),
                Map.of("set", SET, "arms", List.of(Map.of("intervention", "vcd", "params", Map.of("alpha", -1e9)))),
                Map.of("set", SET, "arms", List.of(Map.of("intervention", "var"), Map.of("intervention", "var+gift"))),
                Map.of("set", SET, "temperature", 9), Map.of("set", SET, "max_new_tokens", 0), Map.of("set", SET, "x", 1),
                Map.of("set", SET, "stop", List.of("")), Map.of("set", SET, "seed", "x"));
        for (Map<String, Object> body : bodies) {
            team("bad evaluation " + abbreviate(body.toString()), HttpMethod.POST, EVALUATIONS, MediaType.APPLICATION_JSON,
                    json(body));
        }
        for (Map.Entry<String, byte[]> image : images().entrySet()) {
            upload("image " + image.getKey() + " in an uploaded set", image.getValue(), "image.png");
        }
        upload("an uploaded image named ../../etc/passwd", png, "../../etc/passwd");
        randomBodies(EVALUATIONS, callers.team());
        String unknown = EVALUATIONS + "/" + UUID.randomUUID();
        for (String path : List.of(EVALUATIONS + "?page=-1", EVALUATIONS + "?size=0", EVALUATIONS + "?size=101",
                EVALUATIONS + "?page=abc", EVALUATIONS + "/not-a-uuid", unknown, unknown + "/items",
                unknown + "/items?page=-1", unknown + "/items.csv", EVALUATIONS + "/not-a-uuid/items.csv")) {
            team("read " + path, HttpMethod.GET, path, null, null);
        }
        team("cancel an unknown evaluation", HttpMethod.POST, unknown + "/cancel", null, null);
        team("cancel a malformed id", HttpMethod.POST, EVALUATIONS + "/not-a-uuid/cancel", null, null);
        team("delete an unknown evaluation", HttpMethod.DELETE, unknown, null, null);
    }

    private void feedback() {
        String path = GENERATIONS + "/" + generationId + "/feedback";
        for (String body : MALFORMED_JSON) {
            team("malformed feedback " + abbreviate(body), HttpMethod.POST, path, MediaType.APPLICATION_JSON, bytes(body));
        }
        List<Map<String, Object>> bodies = List.of(Map.of(), Map.of("note", "only a note"), Map.of("preferred_arm", 2),
                Map.of("preferred_arm", -1), Map.of("preferred_arm", "0"), Map.of("preferred_arm", 0.5),
                Map.of("arms", List.of(Map.of("arm", 0))),
                Map.of("arms", List.of(Map.of("arm", 0, "hallucinated", true), Map.of("arm", 0, "hallucinated", false))),
                Map.of("arms", List.of(Map.of("arm", 5, "hallucinated", true))),
                Map.of("arms", List.of(Map.of("arm", 0, "hallucinated", "yes"))),
                Map.of("arms", Collections.singletonList(null)), Map.of("arms", "all"),
                Map.of("preferred_arm", 0, "note", "n".repeat(FeedbackService.MAX_NOTE_CHARS + 1)),
                Map.of("preferred_arm", 0, "x", 1));
        for (Map<String, Object> body : bodies) {
            team("bad feedback " + abbreviate(body.toString()), HttpMethod.POST, path, MediaType.APPLICATION_JSON, json(body));
        }
        randomBodies(path, callers.team());
        byte[] valid = json(Map.of("preferred_arm", 0));
        team("feedback on a malformed id", HttpMethod.POST, GENERATIONS + "/not-a-uuid/feedback", MediaType.APPLICATION_JSON, valid);
        team("feedback on an unknown generation", HttpMethod.POST, GENERATIONS + "/" + UUID.randomUUID() + "/feedback",
                MediaType.APPLICATION_JSON, valid);
        team("feedback of a malformed id", HttpMethod.GET, GENERATIONS + "/not-a-uuid/feedback", null, null);
        team("feedback as text", HttpMethod.POST, path, MediaType.TEXT_PLAIN, bytes("{\"preferred_arm\": 0}"));
    }

    private void reads() {
        for (String query : List.of("from=yesterday", "to=2026-13-45T00:00:00Z", "from=1e99",
                "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z")) {
            team("summary " + query, HttpMethod.GET, SUMMARY + "?" + query, null, null);
        }
        for (String sha : List.of("not-hex", "0".repeat(64), HexFormat.of().formatHex(randomBytes(32)), "A".repeat(64),
                "0".repeat(1000))) {
            team("image " + abbreviate(sha), HttpMethod.GET, IMAGES + sha, null, null);
        }
        for (String path : List.of(GENERATIONS, "/v1/interventions", "/v1/benchmarks", SUMMARY)) {
            team("PUT " + path, HttpMethod.PUT, path, MediaType.APPLICATION_OCTET_STREAM, randomBytes(random.nextInt(64)));
        }
    }

    private void admin() {
        for (String body : MALFORMED_JSON) {
            admin("malformed json " + abbreviate(body), HttpMethod.POST, ADMIN_KEYS, MediaType.APPLICATION_JSON, bytes(body));
        }
        for (String body : List.of("{}", "{\"team\": \"UPPER\"}", "{\"team\": \"" + "a".repeat(64) + "\"}",
                "{\"team\": \"ok\", \"name\": \"" + "n".repeat(101) + "\"}", "{\"team\": 1}", "{\"team\": \"ok\", \"x\": 1}",
                "{\"team\": \"ok\", \"name\": \"" + "n".repeat(5000) + "\"}", "{\"team\": \"\"}", "{\"team\": \"-lead\"}")) {
            admin("bad key request " + abbreviate(body), HttpMethod.POST, ADMIN_KEYS, MediaType.APPLICATION_JSON, bytes(body));
        }
        randomBodies(ADMIN_KEYS, callers.admin());
        for (int i = 0; i < RANDOM_CASES_PER_ENDPOINT; i++) {
            admin("revoke an unknown key #" + i, HttpMethod.DELETE, ADMIN_KEYS + "/" + random.nextLong(), null, null);
        }
        admin("revoke a random uuid", HttpMethod.DELETE, ADMIN_KEYS + "/" + UUID.randomUUID(), null, null);
        admin("list a team no key can have", HttpMethod.GET, ADMIN_KEYS + "?team=Not A Team", null, null);
        admin("list a team name too long", HttpMethod.GET, ADMIN_KEYS + "?team=" + "a".repeat(64), null, null);
        admin("keys by PUT", HttpMethod.PUT, ADMIN_KEYS, MediaType.APPLICATION_JSON, bytes("{\"team\": \"ok\"}"));
        admin("key request as text", HttpMethod.POST, ADMIN_KEYS, MediaType.TEXT_PLAIN, bytes("{\"team\": \"ok\"}"));
    }

    /** Bad keys on requests that would otherwise succeed, and refused requests under a good key (which must free it). */
    private void idempotency() {
        byte[] generation = json(generation(png, Map.of("max_new_tokens", 2)));
        byte[] evaluation = json(Map.of("set", SET, "limit", 1));
        for (String key : List.of("", "k".repeat(Idempotency.MAX_KEY_CHARS + 1), "has space", "clé", "tab\tkey")) {
            Map<String, String> header = Map.of(Idempotency.HEADER, key);
            cases.add(new Case("idempotency key " + abbreviate(key) + " on a valid generation", HttpMethod.POST,
                    GENERATIONS, MediaType.APPLICATION_JSON, generation, bearer(callers.team()), header));
            cases.add(new Case("idempotency key " + abbreviate(key) + " on a valid evaluation", HttpMethod.POST,
                    EVALUATIONS, MediaType.APPLICATION_JSON, evaluation, bearer(callers.team()), header));
        }
        Map<String, String> reused = Map.of(Idempotency.HEADER, "fuzz-" + random.nextLong());
        for (Map<String, Object> fields : List.of(Map.<String, Object>of("prompt", ""), Map.<String, Object>of("top_k", -1),
                Map.<String, Object>of("arms", List.of(Map.of("intervention", "no-such"))))) {
            cases.add(new Case("refused generation with a good key " + fields, HttpMethod.POST, GENERATIONS,
                    MediaType.APPLICATION_JSON, json(generation(png, fields)), bearer(callers.team()), reused));
        }
        cases.add(new Case("refused evaluation with a good key", HttpMethod.POST, EVALUATIONS, MediaType.APPLICATION_JSON,
                json(Map.of("set", "no-such/set")), bearer(callers.team()), reused));
        cases.add(new Case("refused image with a good key", HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON,
                json(generation(CraftedImages.pngHeader(100_000, 100_000), Map.of())), bearer(callers.team()), reused));
    }

    /** Valid requests under missing, unknown, revoked and misplaced keys. */
    private void auth() {
        byte[] generation = json(generation(png, Map.of("max_new_tokens", 2)));
        byte[] chat = json(chat(dataUrl(png), Map.of()));
        byte[] key = json(Map.of("team", "fuzz-other"));
        List<String> strangers = Arrays.asList(null, "Basic Zm9vOmJhcg==", "Bearer", "Bearer    ", "Bearer sl_not-a-key",
                "Bearer " + "x".repeat(4000), bearer(callers.revoked()), bearer(callers.admin()));
        for (String authorization : strangers) {
            String who = authorization == null ? "no key" : abbreviate(authorization);
            cases.add(new Case(who + " on generations", HttpMethod.POST, GENERATIONS, MediaType.APPLICATION_JSON,
                    generation, authorization, Map.of()));
            cases.add(new Case(who + " on chat", HttpMethod.POST, CHAT, MediaType.APPLICATION_JSON, chat, authorization,
                    Map.of()));
            cases.add(new Case(who + " on the list", HttpMethod.GET, GENERATIONS, null, null, authorization, Map.of()));
            cases.add(new Case(who + " on models", HttpMethod.GET, MODELS, null, null, authorization, Map.of()));
        }
        for (String authorization : Arrays.asList(null, "Bearer sl_not-a-key", bearer(callers.team()),
                bearer(callers.revoked()), "Basic " + callers.admin())) {
            String who = authorization == null ? "no key" : abbreviate(authorization);
            cases.add(new Case(who + " creating a key", HttpMethod.POST, ADMIN_KEYS, MediaType.APPLICATION_JSON, key,
                    authorization, Map.of()));
            cases.add(new Case(who + " listing keys", HttpMethod.GET, ADMIN_KEYS, null, null, authorization, Map.of()));
        }
    }

    private void randomBodies(String path, String key) {
        for (int i = 0; i < RANDOM_CASES_PER_ENDPOINT; i++) {
            MediaType type = CONTENT_TYPES.get(random.nextInt(CONTENT_TYPES.size()));
            cases.add(new Case("random bytes #" + i, HttpMethod.POST, path, type, randomBytes(random.nextInt(4096)),
                    bearer(key), Map.of()));
        }
    }

    private Map<String, byte[]> images() {
        Map<String, byte[]> images = new LinkedHashMap<>();
        images.put("zero bytes", new byte[0]);
        images.put("png 100000x100000", CraftedImages.pngHeader(100_000, 100_000));
        images.put("png 0x0", CraftedImages.pngHeader(0, 0));
        images.put("png -1x-1", CraftedImages.pngHeader(-1, -1));
        images.put("png header only", CraftedImages.pngHeader(48, 48));
        images.put("jpeg 65535x65535", CraftedImages.jpegHeader(0xC0, 65535, 65535));
        images.put("jpeg progressive 0x0", CraftedImages.jpegHeader(0xC2, 0, 0));
        images.put("webp 16777216x16777216", CraftedImages.webpExtendedHeader(1 << 24, 1 << 24));
        images.put("webp 1x1 header only", CraftedImages.webpExtendedHeader(1, 1));
        for (int i = 0; i < 8; i++) {
            images.put("png truncated #" + i, Arrays.copyOf(png, random.nextInt(png.length / 2)));
            images.put("png magic + random #" + i, withPrefix(png, 8, randomBytes(16 + random.nextInt(512))));
            images.put("png with a corrupt IHDR #" + i, corrupt(png, 16, 29));
            images.put("jpeg magic + random #" + i, withPrefix(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, 3,
                    randomBytes(16 + random.nextInt(512))));
            images.put("webp magic + random #" + i, withPrefix("RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.US_ASCII),
                    16, randomBytes(16 + random.nextInt(512))));
        }
        return images;
    }

    /** Images over the image limit as data URLs: one inside the JSON budget (refused on its length), one past it. */
    private Map<String, String> hugeDataUrls() {
        byte[] over = withPrefix(png, 8, randomBytes(MAX_IMAGE_BYTES + 1024));
        return Map.of("a data url 1 KiB over the image limit", dataUrl(over),
                "a data url past the request limit", dataUrl(Arrays.copyOf(over, MAX_IMAGE_BYTES + MAX_IMAGE_BYTES / 2)));
    }

    private void team(String name, HttpMethod method, String path, MediaType type, byte[] body) {
        cases.add(new Case(name, method, path, type, body, bearer(callers.team()), Map.of()));
    }

    private void admin(String name, HttpMethod method, String path, MediaType type, byte[] body) {
        cases.add(new Case(name, method, path, type, body, bearer(callers.admin()), Map.of()));
    }

    private void multipart(String name, byte[] image, Map<String, Object> request) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("image", new ByteArrayResource(image) {
            @Override
            public String getFilename() {
                return "upload.png";
            }
        }).contentType(MediaType.IMAGE_PNG);
        parts.part("request", new String(json(request), StandardCharsets.UTF_8), MediaType.APPLICATION_JSON);
        cases.add(new Case(name + " (multipart)", HttpMethod.POST, GENERATIONS, MediaType.MULTIPART_FORM_DATA,
                parts.build(), bearer(callers.team()), Map.of()));
    }

    /** An uploaded POPE set of one question about {@code image}, sent under {@code filename}. */
    private void upload(String name, byte[] image, String filename) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("request", new String(json(Map.of("upload", Map.of("name", "hostile", "kind", "pope"))),
                StandardCharsets.UTF_8), MediaType.APPLICATION_JSON);
        parts.part("items", new String(json(Map.of("question_id", 1, "image", "image.png", "text", PROMPT,
                "label", "yes", "object", "circle")), StandardCharsets.UTF_8));
        parts.part("images", new ByteArrayResource(image) {
            @Override
            public String getFilename() {
                return filename;
            }
        }).contentType(MediaType.IMAGE_PNG);
        cases.add(new Case(name + " (multipart)", HttpMethod.POST, EVALUATIONS, MediaType.MULTIPART_FORM_DATA,
                parts.build(), bearer(callers.team()), Map.of()));
    }

    private byte[] json(Map<String, Object> body) {
        return json.writeValueAsBytes(body);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String bearer(String key) {
        return "Bearer " + key;
    }

    private static String dataUrl(byte[] image) {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(image);
    }

    private static Map<String, Object> generation(byte[] image, Map<String, Object> fields) {
        Map<String, Object> body = withPrompt(fields);
        body.put("image", Base64.getEncoder().encodeToString(image));
        return body;
    }

    private static Map<String, Object> chat(String imageUrl, Map<String, Object> fields) {
        List<Map<String, Object>> content = List.of(Map.of("type", "text", "text", PROMPT),
                Map.of("type", "image_url", "image_url", Map.of("url", imageUrl)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", "shapes-vlm");
        body.put("max_tokens", 2);
        body.put("messages", List.of(Map.of("role", "user", "content", content)));
        body.putAll(fields);
        return body;
    }

    private static Map<String, Object> withPrompt(Map<String, Object> fields) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("prompt", PROMPT);
        body.putAll(fields);
        return body;
    }

    private byte[] randomBytes(int n) {
        byte[] out = new byte[n];
        random.nextBytes(out);
        return out;
    }

    private static byte[] withPrefix(byte[] source, int prefixLength, byte[] tail) {
        byte[] out = Arrays.copyOf(source, prefixLength + tail.length);
        System.arraycopy(tail, 0, out, prefixLength, tail.length);
        return out;
    }

    /** {@code source} with random bytes in [from, to): in a PNG, 16..29 is IHDR's payload. */
    private byte[] corrupt(byte[] source, int from, int to) {
        byte[] out = source.clone();
        for (int i = from; i < to; i++) {
            out[i] = (byte) random.nextInt(256);
        }
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
