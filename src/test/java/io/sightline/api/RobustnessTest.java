package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.vision.CraftedImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyInserters;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A fixed-seed fuzz run over every endpoint: malformed and truncated JSON, hostile images (lying headers, corrupt
 * headers, truncation, zero bytes, random bytes behind real magic numbers), oversized prompts, bad parameters and
 * random bytes under every content type. Every answer must be a 4xx ProblemDetail, the app must still answer, and
 * no row may have been written. Runs with API keys on (AuthApiTest's context) so that the admin endpoints are in
 * reach; the requests carry a valid key, so they get past the filter to the parsers.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.auth.enabled=true", "sightline.auth.admin-key=" + AuthApiTest.ADMIN_KEY})
@AutoConfigureWebTestClient(timeout = "PT120S")
class RobustnessTest {

    private static final long SEED = 20261125L;
    private static final int RANDOM_CASES_PER_ENDPOINT = 25;
    private static final String PROMPT = "describe the image .";
    private static final String GENERATIONS = "/v1/generations";
    private static final String CHAT = "/v1/chat/completions";
    private static final String ADMIN_KEYS = "/v1/admin/api-keys";
    private static final List<MediaType> CONTENT_TYPES = List.of(MediaType.APPLICATION_JSON, MediaType.MULTIPART_FORM_DATA,
            MediaType.TEXT_PLAIN, MediaType.APPLICATION_OCTET_STREAM, MediaType.IMAGE_PNG, MediaType.APPLICATION_XML);

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;

    /** One hostile request; {@code body} is bytes or multipart parts. */
    record Case(String name, HttpMethod method, String path, MediaType type, Object body, boolean admin) {
    }

    @Test
    void everyHostileRequestIsA4xxProblemAndLeavesNoRows() throws Exception {
        String teamKey = AuthApiTest.createKey(http, json, "fuzz");
        long[] before = counts();
        List<Case> cases = cases(new Random(SEED));

        List<String> failures = new ArrayList<>();
        for (Case c : cases) {
            EntityExchangeResult<byte[]> r = send(c, c.admin() ? AuthApiTest.ADMIN_KEY : teamKey);
            String problem = problemError(r);
            if (problem != null) {
                failures.add(c.name() + " (" + c.method() + " " + c.path() + ", " + c.type() + "): " + problem);
            }
        }

        assertThat(failures).as("requests not answered with a 4xx ProblemDetail").isEmpty();
        http.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
        assertThat(counts()).as("generations, images, outputs, running generations").containsExactly(before);
    }

    private List<Case> cases(Random random) throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
        List<Case> cases = new ArrayList<>();
        List<String> malformed = List.of("", "{", "[", "null", "\"text\"", "42", "{\"prompt\":", "{\"prompt\": \"a\",}",
                "[".repeat(5000) + "]".repeat(5000), "{\"max_new_tokens\": 1e999999}", "{\"temperature\": NaN}",
                "\u0000\u0001\u0002", "{\"prompt\": \"\\ud800\"}");
        for (String body : malformed) {
            for (String path : List.of(GENERATIONS, CHAT, ADMIN_KEYS)) {
                cases.add(bytes("malformed json " + abbreviate(body), path, MediaType.APPLICATION_JSON, body, path.equals(ADMIN_KEYS)));
            }
        }
        Map<String, byte[]> images = new java.util.LinkedHashMap<>();
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
            images.put("png magic + random #" + i, withPrefix(png, 8, randomBytes(random, 16 + random.nextInt(512))));
            images.put("png with a corrupt IHDR #" + i, corrupt(png, 16, 29, random));
            images.put("jpeg magic + random #" + i, withPrefix(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, 3,
                    randomBytes(random, 16 + random.nextInt(512))));
            images.put("webp magic + random #" + i, withPrefix("RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.US_ASCII),
                    16, randomBytes(random, 16 + random.nextInt(512))));
        }
        for (Map.Entry<String, byte[]> image : images.entrySet()) {
            cases.add(multipart("image " + image.getKey(), image.getValue(), Map.of("prompt", PROMPT)));
            cases.add(json("image " + image.getKey() + " as base64", GENERATIONS, generation(image.getValue(), Map.of())));
            cases.add(json("image " + image.getKey() + " in a chat", CHAT, chat(image.getValue(), Map.of())));
        }
        List<Map<String, Object>> badFields = List.of(
                Map.of("prompt", "a".repeat(2001)), Map.of("prompt", "a".repeat(1_000_000)), Map.of("prompt", ""),
                Map.of("max_new_tokens", -1), Map.of("max_new_tokens", Integer.MAX_VALUE), Map.of("max_new_tokens", 1.5),
                Map.of("temperature", -0.1), Map.of("temperature", 1e308), Map.of("top_p", 0), Map.of("top_k", -5),
                Map.of("seed", "x"), Map.of("stop", List.of("")), Map.of("stop", java.util.Collections.nCopies(50, "a")),
                Map.of("arms", List.of()), Map.of("arms", List.of(Map.of("intervention", "vcd", "params", Map.of("alpha", -1e9)))),
                Map.of("arms", List.of(Map.of("intervention", "vcd", "params", Map.of("alpha", Map.of("nested", 1))))),
                Map.of("arms", List.of(Map.of("intervention", "no-such"))), Map.of("arms", "none"),
                Map.of("arms", List.of(Map.of("intervention", "none", "params", List.of(1)))), Map.of("unknown", 1));
        for (Map<String, Object> fields : badFields) {
            String name = "bad field " + abbreviate(fields.toString());
            cases.add(json(name, GENERATIONS, generation(png, fields)));
            cases.add(multipart(name + " (multipart)", png, withPrompt(fields)));
        }
        List<Map<String, Object>> badChat = List.of(Map.of("max_tokens", 0), Map.of("n", 0), Map.of("n", 1000),
                Map.of("temperature", 5), Map.of("top_logprobs", 99), Map.of("stream", "yes"), Map.of("model", "gpt-4"),
                Map.of("intervention", Map.of("name", "no-such")), Map.of("stop", 7), Map.of("messages", List.of()));
        for (Map<String, Object> fields : badChat) {
            cases.add(json("bad chat field " + abbreviate(fields.toString()), CHAT, chat(png, fields)));
        }
        for (String body : List.of("{}", "{\"team\": \"UPPER\"}", "{\"team\": \"" + "a".repeat(64) + "\"}",
                "{\"team\": \"ok\", \"name\": \"" + "n".repeat(101) + "\"}", "{\"team\": 1}", "{\"team\": \"ok\", \"x\": 1}",
                "{\"team\": \"ok\", \"name\": \"" + "n".repeat(5000) + "\"}")) {
            cases.add(bytes("bad key request " + abbreviate(body), ADMIN_KEYS, MediaType.APPLICATION_JSON, body, true));
        }
        String valid = json.writeValueAsString(generation(png, Map.of("max_new_tokens", 2)));
        for (int i = 0; i < RANDOM_CASES_PER_ENDPOINT; i++) {
            cases.add(bytes("valid json truncated #" + i, GENERATIONS, MediaType.APPLICATION_JSON,
                    valid.substring(0, random.nextInt(valid.length() - 1)), false));
            for (String path : List.of(GENERATIONS, CHAT, ADMIN_KEYS)) {
                MediaType type = CONTENT_TYPES.get(random.nextInt(CONTENT_TYPES.size()));
                byte[] noise = randomBytes(random, random.nextInt(4096));
                cases.add(new Case("random bytes #" + i, HttpMethod.POST, path, type, noise, path.equals(ADMIN_KEYS)));
            }
            for (String path : List.of(GENERATIONS + "?page=" + random.nextInt(), GENERATIONS + "/" + random.nextLong(),
                    GENERATIONS + "?size=" + (101 + random.nextInt(1000)), "/v1/interventions", "/v1/models",
                    ADMIN_KEYS + "/" + random.nextLong())) {
                HttpMethod method = path.startsWith(ADMIN_KEYS) ? HttpMethod.DELETE
                        : path.startsWith("/v1/generations?") || path.startsWith(GENERATIONS + "/") ? HttpMethod.GET
                        : HttpMethod.PUT;
                cases.add(new Case("query or method #" + i, method, path, MediaType.APPLICATION_OCTET_STREAM,
                        randomBytes(random, random.nextInt(64)), path.startsWith(ADMIN_KEYS)));
            }
        }
        return cases;
    }

    /** Null when {@code r} is a 4xx ProblemDetail; else what is wrong with it. */
    private String problemError(EntityExchangeResult<byte[]> r) {
        int status = r.getStatus().value();
        if (status < 400 || status >= 500) {
            return "status " + status + ": " + new String(r.getResponseBody() == null ? new byte[0] : r.getResponseBody(),
                    StandardCharsets.UTF_8);
        }
        if (!MediaType.APPLICATION_PROBLEM_JSON.isCompatibleWith(r.getResponseHeaders().getContentType())) {
            return "content type " + r.getResponseHeaders().getContentType();
        }
        JsonNode problem = json.readTree(r.getResponseBody());
        if (!problem.path("type").asString("").startsWith("https://sightline.dev/problems/")
                || problem.path("status").asInt() != status || problem.path("detail").asString("").isBlank()) {
            return "not a Sightline problem: " + problem;
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    private EntityExchangeResult<byte[]> send(Case c, String key) {
        WebTestClient.RequestBodySpec spec = http.method(c.method()).uri(c.path())
                .header(HttpHeaders.AUTHORIZATION, "Bearer " + key).contentType(c.type());
        WebTestClient.RequestHeadersSpec<?> withBody = c.body() instanceof byte[] b ? spec.bodyValue(b)
                : spec.body(BodyInserters.fromMultipartData((MultiValueMap<String, HttpEntity<?>>) c.body()));
        return withBody.exchange().expectBody().returnResult();
    }

    private long[] counts() {
        return new long[] {count("generations"), count("images"), count("outputs"),
                count("generations WHERE status = 'running'")};
    }

    private long count(String tableAndWhere) {
        return db.sql("SELECT count(*) AS n FROM " + tableAndWhere).map(r -> r.get("n", Long.class)).one().block();
    }

    private static Case bytes(String name, String path, MediaType type, String body, boolean admin) {
        return new Case(name, HttpMethod.POST, path, type, body.getBytes(StandardCharsets.UTF_8), admin);
    }

    private Case json(String name, String path, Map<String, Object> body) {
        return bytes(name, path, MediaType.APPLICATION_JSON, json.writeValueAsString(body), false);
    }

    private Case multipart(String name, byte[] image, Map<String, Object> request) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("image", new ByteArrayResource(image) {
            @Override
            public String getFilename() {
                return "upload.png";
            }
        }).contentType(MediaType.IMAGE_PNG);
        parts.part("request", json.writeValueAsString(request), MediaType.APPLICATION_JSON);
        return new Case(name, HttpMethod.POST, GENERATIONS, MediaType.MULTIPART_FORM_DATA, parts.build(), false);
    }

    private static Map<String, Object> generation(byte[] image, Map<String, Object> fields) {
        Map<String, Object> body = withPrompt(fields);
        body.put("image", Base64.getEncoder().encodeToString(image));
        return body;
    }

    private static Map<String, Object> chat(byte[] image, Map<String, Object> fields) {
        String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(image);
        List<Map<String, Object>> content = List.of(Map.of("type", "text", "text", PROMPT),
                Map.of("type", "image_url", "image_url", Map.of("url", url)));
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("model", "shapes-vlm");
        body.put("max_tokens", 2);
        body.put("messages", List.of(Map.of("role", "user", "content", content)));
        body.putAll(fields);
        return body;
    }

    private static Map<String, Object> withPrompt(Map<String, Object> fields) {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("prompt", PROMPT);
        body.putAll(fields);
        return body;
    }

    private static byte[] randomBytes(Random random, int n) {
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
    private static byte[] corrupt(byte[] source, int from, int to, Random random) {
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
