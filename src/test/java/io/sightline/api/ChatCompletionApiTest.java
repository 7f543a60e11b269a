package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.Generator;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.TokenListener;
import io.sightline.engine.Tokenizer;
import io.sightline.engine.sampling.LogSoftmax;
import io.sightline.intervention.ArmSpec;
import io.sightline.vision.ImagePreprocessor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
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
 * {@code /v1/chat/completions} and {@code /v1/models} over real HTTP with the shipped model and an embedded
 * PostgreSQL: every answer is the stored generation in OpenAI's shape, streamed or not.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureWebTestClient(timeout = "PT120S")
class ChatCompletionApiTest {

    private static final Path SAMPLES = Path.of("onnx-models/samples");
    private static final String PROMPT = "describe the image .";
    private static final String LEADING = "i am sure there is a star here . is there a star in the image ?";

    @Autowired
    WebTestClient http;
    @Autowired
    DatabaseClient db;
    @Autowired
    JsonMapper json;
    @Autowired
    ModelBundle model;
    @Autowired
    Tokenizer tokenizer;
    @Autowired
    Generator generator;
    @Autowired
    ImagePreprocessor images;

    @Test
    void modelsListsTheLoadedModel() {
        JsonNode body = json.readTree(http.get().uri("/v1/models").exchange().expectStatus().isOk().expectBody()
                .returnResult().getResponseBody());
        assertThat(body.get("object").asString()).isEqualTo("list");
        assertThat(body.get("data").size()).isEqualTo(1);
        JsonNode m = body.get("data").get(0);
        assertThat(m.get("id").asString()).isEqualTo(model.name()).isEqualTo("shapes-vlm");
        assertThat(m.get("object").asString()).isEqualTo("model");
        assertThat(m.get("owned_by").asString()).isEqualTo("sightline");
        assertThat(m.get("created").asLong()).isPositive();
    }

    @Test
    void completionIsTheStoredGenerationInOpenAiShape() throws Exception {
        JsonNode body = post(request(Map.of("model", "shapes-vlm", "max_tokens", 12, "logprobs", true,
                "top_logprobs", 0, "intervention", Map.of("name", "none", "params", Map.of()))), HttpStatus.OK);

        assertThat(body.get("object").asString()).isEqualTo("chat.completion");
        assertThat(body.get("model").asString()).isEqualTo("shapes-vlm");
        JsonNode choice = body.get("choices").get(0);
        assertThat(body.get("choices").size()).isEqualTo(1);
        assertThat(choice.get("index").asInt()).isZero();
        assertThat(choice.get("message").get("role").asString()).isEqualTo("assistant");
        String content = choice.get("message").get("content").asString();
        assertThat(content).isNotBlank();

        String id = body.get("sightline").get("generation_id").asString();
        assertThat(body.get("id").asString()).isEqualTo("chatcmpl-" + id);
        JsonNode stored = get("/v1/generations/" + id);
        JsonNode output = stored.get("outputs").get(0);
        assertThat(stored.get("status").asString()).isEqualTo("completed");
        assertThat(stored.get("prompt").asString()).isEqualTo(PROMPT);
        assertThat(stored.get("request").get("source").get("api").asString()).isEqualTo("chat.completions");
        assertThat(stored.get("request").get("max_new_tokens").asInt()).isEqualTo(12);
        assertThat(content).isEqualTo(output.get("text").asString());
        assertThat(body.get("sightline").get("intervention").asString()).isEqualTo("none");
        assertThat(body.get("sightline").get("scores")).isEqualTo(output.get("scores"));
        int tokens = output.get("tokens").size();
        assertThat(choice.get("finish_reason").asString()).isEqualTo(tokens >= 12 ? "length" : "stop");

        JsonNode usage = body.get("usage");
        int promptTokens = tokenizer.prompt(PROMPT).ids().length - 1 + model.dims().imageTokens();
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(tokens);
        assertThat(usage.get("total_tokens").asInt()).isEqualTo(promptTokens + tokens);

        JsonNode logprobs = choice.get("logprobs").get("content");
        assertThat(logprobs.size()).isEqualTo(tokens);
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            joined.append(logprobs.get(i).get("token").asString());
            assertThat(logprobs.get(i).get("logprob").floatValue()).isEqualTo(output.get("logprobs").get(i).floatValue());
            assertThat(logprobs.get(i).get("top_logprobs").isEmpty()).isTrue();
        }
        assertThat(joined.toString()).isEqualTo(content);

        // the same greedy answer as /v1/generations gives
        byte[] png = Files.readAllBytes(SAMPLES.resolve("scene-b.png"));
        JsonNode generation = json.readTree(http.post().uri("/v1/generations").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(Map.of("prompt", PROMPT, "max_new_tokens", 12,
                        "image", Base64.getEncoder().encodeToString(png))))
                .exchange().expectStatus().isCreated().expectBody().returnResult().getResponseBody());
        assertThat(generation.get("outputs").get(0).get("text").asString()).isEqualTo(content);
    }

    @Test
    void greedyChoicesAreIdenticalArmsOfOneGeneration() throws Exception {
        Map<String, Object> body = request(Map.of("max_completion_tokens", 8, "n", 2));
        JsonNode response = post(body, HttpStatus.OK);
        assertThat(response.get("choices").size()).isEqualTo(2);
        assertThat(response.get("choices").get(1).get("index").asInt()).isEqualTo(1);
        assertThat(response.get("choices").get(1).get("message")).isEqualTo(response.get("choices").get(0).get("message"));
        assertThat(response.get("choices").get(0).get("logprobs").isNull()).isTrue();
        int tokens = get("/v1/generations/" + response.get("sightline").get("generation_id").asString())
                .get("outputs").get(0).get("tokens").size();
        assertThat(response.get("usage").get("completion_tokens").asInt()).isEqualTo(2 * tokens);
    }

    @Test
    void sampledChoiceIDrawsWithSeedPlusI() throws Exception {
        // a leading question the model answers "yes" with p = 0.69 on scene-b: room for the seed to decide. Seed 11
        // draws u = 0.32, 0.58, 0.77 for choices 0..2, each at least 0.08 from that boundary: yes, yes, no
        Map<String, Object> body = request(Map.of("max_tokens", 4, "n", 3, "temperature", 1.0, "seed", 11),
                "scene-b.png", LEADING);
        List<String> choices = contents(post(body, HttpStatus.OK));

        assertThat(contents(post(body, HttpStatus.OK))).as("the same seed again").isEqualTo(choices);
        assertThat(choices.stream().distinct().count()).as("choices %s", choices).isGreaterThan(1);
        for (int i = 0; i < 3; i++) {
            Map<String, Object> alone = request(Map.of("max_tokens", 4, "temperature", 1.0, "seed", 11 + i),
                    "scene-b.png", LEADING);
            assertThat(contents(post(alone, HttpStatus.OK))).as("choice %d", i).containsExactly(choices.get(i));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"none", "vcd"})
    void topLogprobsAreTheMostProbableTokensOfTheLogitsTheTokenWasDrawnFrom(String intervention) throws Exception {
        int k = 20;
        JsonNode body = post(request(Map.of("max_tokens", 12, "logprobs", true, "top_logprobs", k,
                "intervention", Map.of("name", intervention))), HttpStatus.OK);
        JsonNode content = body.get("choices").get(0).get("logprobs").get("content");

        // the same request straight through the engine, its final logits taken at each chosen token
        List<float[]> logits = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        float[][] last = new float[1][];
        generator.generate(new GenerationRequest(images.prepare(Files.readAllBytes(SAMPLES.resolve("scene-b.png"))).input(),
                PROMPT, DecodingOptions.greedy(12), List.of(new ArmSpec(intervention, Map.of()))), Cancellation.create(),
                new TokenListener() {
                    @Override
                    public void onLogits(int arm, float[] l) {
                        last[0] = l.clone();
                    }

                    @Override
                    public void onToken(int arm, int token, float logprob, long nanos) {
                        logits.add(last[0]);
                        tokens.add(token);
                    }
                });
        assertThat(content.size()).isEqualTo(tokens.size()).isPositive();

        for (int t = 0; t < content.size(); t++) {
            JsonNode entry = content.get(t);
            JsonNode top = entry.get("top_logprobs");
            assertThat(top.size()).isEqualTo(k);
            // greedy: the chosen token is the most probable one, with the very same logprob
            assertThat(top.get(0).get("token")).isEqualTo(entry.get("token"));
            assertThat(top.get(0).get("logprob").doubleValue()).isEqualTo(entry.get("logprob").doubleValue());
            double mass = 0;
            int[] prefix = tokens.subList(0, t).stream().mapToInt(Integer::intValue).toArray();
            List<double[]> expected = ranked(logits.get(t));
            for (int j = 0; j < k; j++) {
                JsonNode alt = top.get(j);
                double lp = alt.get("logprob").doubleValue();
                assertThat(lp).isLessThanOrEqualTo(0.0);
                if (j > 0) {
                    assertThat(lp).isLessThanOrEqualTo(top.get(j - 1).get("logprob").doubleValue());
                }
                mass += Math.exp(lp);
                assertThat(alt.get("bytes").valueStream().map(b -> (byte) b.intValue()).toList())
                        .isEqualTo(toList(alt.get("token").asString().getBytes(StandardCharsets.UTF_8)));
                // a zero-probability token (cut by VCD's plausibility cutoff) is OpenAI's -9999
                double want = Double.isInfinite(expected.get(j)[1]) ? -9999.0 : expected.get(j)[1];
                // the app may have batched this request with others: row results agree to 1e-4 (GeneratorTest)
                assertThat(lp).as("step %d, rank %d", t, j).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4));
                assertThat(alt.get("token").asString()).as("step %d, rank %d", t, j)
                        .isEqualTo(piece(prefix, (int) expected.get(j)[0]));
            }
            assertThat(mass).isLessThanOrEqualTo(1.0 + 1e-6);
        }
        if (intervention.equals("vcd")) {
            // VCD's plausibility cutoff leaves a few tokens: the rest rank at OpenAI's -9999, special ones by name
            JsonNode top = content.get(0).get("top_logprobs");
            assertThat(top.valueStream().map(a -> a.get("logprob").doubleValue())).contains(-9999.0);
            assertThat(top.valueStream().map(a -> a.get("token").asString())).contains("</s>");
        }
    }

    @Test
    void streamedChunksCarryTheirTokensTopLogprobs() throws Exception {
        JsonNode whole = post(request(Map.of("max_tokens", 8, "logprobs", true, "top_logprobs", 3)), HttpStatus.OK);
        List<String> data = stream(request(Map.of("stream", true, "max_tokens", 8, "logprobs", true, "top_logprobs", 3)));

        List<JsonNode> streamed = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            json.readTree(d).get("choices").forEach(c -> c.get("logprobs").get("content").forEach(streamed::add));
        }
        JsonNode expected = whole.get("choices").get(0).get("logprobs").get("content");
        assertThat(streamed).hasSize(expected.size()).isNotEmpty();
        for (int t = 0; t < streamed.size(); t++) {
            JsonNode top = streamed.get(t).get("top_logprobs");
            assertThat(top.size()).isEqualTo(3);
            assertThat(streamed.get(t).get("token")).isEqualTo(expected.get(t).get("token"));
            for (int j = 0; j < 3; j++) {
                JsonNode want = expected.get(t).get("top_logprobs").get(j);
                assertThat(top.get(j).get("token")).isEqualTo(want.get("token"));
                // two runs of the same greedy request: equal up to how the decode loop batched them
                assertThat(top.get(j).get("logprob").doubleValue())
                        .isCloseTo(want.get("logprob").doubleValue(), org.assertj.core.data.Offset.offset(1e-4));
            }
        }
    }

    @Test
    void streamSendsTokensAsChunksThenFinishUsageAndDone() throws Exception {
        List<String> data = stream(request(Map.of("stream", true, "max_tokens", 16, "logprobs", true,
                "stream_options", Map.of("include_usage", true))));

        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        List<JsonNode> chunks = data.subList(0, data.size() - 1).stream().map(json::readTree).toList();
        assertThat(chunks).allSatisfy(c -> assertThat(c.get("object").asString()).isEqualTo("chat.completion.chunk"));
        assertThat(chunks.stream().map(c -> c.get("id").asString()).distinct()).hasSize(1);
        assertThat(chunks.get(0).get("choices").get(0).get("delta").get("role").asString()).isEqualTo("assistant");
        assertThat(chunks.size()).isGreaterThan(3);   // one chunk per token, not the whole text at the end

        JsonNode usageChunk = chunks.get(chunks.size() - 1);
        assertThat(usageChunk.get("choices").isEmpty()).isTrue();
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.get("choices").get(0).get("finish_reason").asString()).isIn("stop", "length");
        String id = finish.get("sightline").get("generation_id").asString();
        assertThat(chunks.get(0).get("id").asString()).isEqualTo("chatcmpl-" + id);

        StringBuilder content = new StringBuilder();
        StringBuilder tokens = new StringBuilder();
        int logprobs = 0;
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            JsonNode choice = c.get("choices").get(0);
            content.append(choice.get("delta").path("content").asString(""));
            for (JsonNode t : choice.get("logprobs").get("content")) {
                tokens.append(t.get("token").asString());
                logprobs++;
            }
        }
        JsonNode stored = get("/v1/generations/" + id);
        JsonNode output = stored.get("outputs").get(0);
        assertThat(stored.get("request").get("source").get("stream").asBoolean()).isTrue();
        assertThat(content.toString()).isEqualTo(output.get("text").asString()).isEqualTo(tokens.toString());
        assertThat(logprobs).isEqualTo(output.get("tokens").size());
        assertThat(usageChunk.get("usage").get("completion_tokens").asInt()).isEqualTo(output.get("tokens").size());
    }

    @Test
    void streamedTextStopsBeforeTheStopStringLikeTheStoredText() throws Exception {
        JsonNode full = post(request(Map.of("max_tokens", 16)), HttpStatus.OK);
        String text = full.get("choices").get(0).get("message").get("content").asString();
        String[] words = text.split(" ");
        assertThat(words.length).isGreaterThan(3);
        String stop = " " + words[2];      // cuts the answer after its second word

        List<String> data = stream(request(Map.of("stream", true, "max_tokens", 16, "stop", stop)));
        StringBuilder content = new StringBuilder();
        String id = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode c = json.readTree(d);
            c.get("choices").forEach(ch -> content.append(ch.get("delta").path("content").asString("")));
            if (c.has("sightline")) {
                id = c.get("sightline").get("generation_id").asString();
                assertThat(c.get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");
            }
        }
        assertThat(content.toString()).isEqualTo(text.substring(0, text.indexOf(stop)))
                .isEqualTo(get("/v1/generations/" + id).get("outputs").get(0).get("text").asString());
    }

    static Stream<Arguments> refusedRequests() throws Exception {
        String png = dataUrl("scene-a.png");
        Map<String, Object> image = Map.of("type", "image_url", "image_url", Map.of("url", png));
        Map<String, Object> text = Map.of("type", "text", "text", PROMPT);
        return Stream.of(
                Arguments.of("http image url", chat(List.of(user(List.of(text,
                        Map.of("type", "image_url", "image_url", Map.of("url", "https://example.com/cat.png")))))),
                        422, "image-url-refused", "messages[0].content[1].image_url.url"),
                Arguments.of("empty image url", chat(List.of(user(List.of(text,
                        Map.of("type", "image_url", "image_url", Map.of("url", "")))))),
                        400, "invalid-request", "messages[0].content[1].image_url.url"),
                Arguments.of("two images", chat(List.of(user(List.of(image, text, image)))), 422, "too-many-images",
                        "messages[0].content[2]"),
                Arguments.of("system message", chat(List.of(Map.of("role", "system", "content", "be brief"),
                        user(List.of(text, image)))), 422, "unsupported-conversation", "messages"),
                Arguments.of("earlier turns", chat(List.of(user(List.of(text, image)),
                        Map.of("role", "assistant", "content", "a red circle ."), user(List.of(text)))),
                        422, "unsupported-conversation", "messages"),
                Arguments.of("interventions that cannot compose", with(chat(List.of(user(List.of(text, image)))),
                        "intervention", List.of(Map.of("name", "var"), Map.of("name", "gift"))), 422, "invalid-params", null),
                Arguments.of("unknown intervention", with(chat(List.of(user(List.of(text, image)))), "intervention",
                        Map.of("name", "no-such-method")), 422, "unknown-intervention", null),
                Arguments.of("unknown intervention param", with(chat(List.of(user(List.of(text, image)))), "intervention",
                        Map.of("name", "none", "params", Map.of("alpha", 1))), 422, "invalid-params", "intervention.params.alpha"),
                Arguments.of("unknown model", with(chat(List.of(user(List.of(text, image)))), "model", "gpt-4o"),
                        404, "unknown-model", "model"),
                Arguments.of("no image", chat(List.of(Map.of("role", "user", "content", PROMPT))), 400,
                        "invalid-request", "messages[0].content"),
                Arguments.of("max_tokens 0", with(chat(List.of(user(List.of(text, image)))), "max_tokens", 0), 400,
                        "invalid-request", "max_tokens"),
                Arguments.of("temperature 3", with(chat(List.of(user(List.of(text, image)))), "temperature", 3), 400,
                        "invalid-request", "temperature"),
                Arguments.of("n 0", with(chat(List.of(user(List.of(text, image)))), "n", 0), 400, "invalid-request", "n"),
                Arguments.of("n 9", with(chat(List.of(user(List.of(text, image)))), "n", 9), 400, "invalid-request", "n"),
                Arguments.of("top_logprobs without logprobs", with(chat(List.of(user(List.of(text, image)))),
                        "top_logprobs", 2), 400, "invalid-request", "top_logprobs"),
                Arguments.of("top_logprobs 21", with(with(chat(List.of(user(List.of(text, image)))), "logprobs", true),
                        "top_logprobs", 21), 400, "invalid-request", "top_logprobs"),
                Arguments.of("top_logprobs -1", with(with(chat(List.of(user(List.of(text, image)))), "logprobs", true),
                        "top_logprobs", -1), 400, "invalid-request", "top_logprobs"),
                Arguments.of("unsupported OpenAI field", with(chat(List.of(user(List.of(text, image)))), "tools",
                        List.of()), 400, "invalid-request", "tools"),
                Arguments.of("blank prompt", chat(List.of(user(List.of(image)))), 400, "invalid-request",
                        "messages[0].content"),
                Arguments.of("streamed bad params", with(with(chat(List.of(user(List.of(text, image)))), "stream", true),
                        "max_tokens", 100_000), 400, "invalid-request", "max_tokens"),
                Arguments.of("bad base64", chat(List.of(user(List.of(text, Map.of("type", "image_url",
                        "image_url", Map.of("url", "data:image/png;base64,%%%")))))), 400, "invalid-request",
                        "messages[0].content[1].image_url.url"));
    }

    @ParameterizedTest(name = "{0} -> {2} {3}")
    @MethodSource("refusedRequests")
    void refusedRequestsGetTheirProblemTypeAndLeaveNoRows(String name, Map<String, Object> body, int status,
                                                          String type, String field) {
        long[] before = {count("images"), count("generations"), count("outputs")};

        JsonNode problem = post(body, HttpStatus.valueOf(status));

        assertThat(problem.get("type").asString()).isEqualTo("https://sightline.dev/problems/" + type);
        assertThat(problem.get("instance").asString()).isEqualTo("/v1/chat/completions");
        assertThat(problem.get("detail").asString()).isNotBlank();
        // OpenAI SDKs take the message from an "error" member
        assertThat(problem.get("error").get("message")).isEqualTo(problem.get("detail"));
        assertThat(problem.get("error").get("type")).isEqualTo(problem.get("type"));
        if (field != null) {
            List<String> fields = new ArrayList<>();
            if (problem.has("errors")) {
                problem.get("errors").forEach(e -> fields.add(e.get("field").asString()));
            } else {
                fields.add(problem.get("field").asString());
            }
            assertThat(fields).containsExactly(field);
        }
        assertThat(new long[] {count("images"), count("generations"), count("outputs")}).containsExactly(before);
    }

    private static Map<String, Object> user(Object content) {
        return Map.of("role", "user", "content", content);
    }

    private static Map<String, Object> chat(List<Map<String, Object>> messages) {
        return Map.of("messages", messages);
    }

    private static Map<String, Object> with(Map<String, Object> body, String key, Object value) {
        Map<String, Object> out = new LinkedHashMap<>(body);
        out.put(key, value);
        return out;
    }

    /** One user message: the image part (scene-b), then the prompt as a text part. */
    private static Map<String, Object> request(Map<String, Object> options) throws Exception {
        return request(options, "scene-b.png", PROMPT);
    }

    private static Map<String, Object> request(Map<String, Object> options, String sample, String prompt)
            throws Exception {
        Map<String, Object> body = new LinkedHashMap<>(options);
        body.put("messages", List.of(user(List.of(
                Map.of("type", "image_url", "image_url", Map.of("url", dataUrl(sample), "detail", "auto")),
                Map.of("type", "text", "text", prompt)))));
        return body;
    }

    private static List<String> contents(JsonNode completion) {
        return completion.get("choices").valueStream().map(c -> c.get("message").get("content").asString()).toList();
    }

    /** Every token of logits [V] as {id, log softmax}, most probable first, ties to the lower id. */
    private static List<double[]> ranked(float[] logits) {
        double[] logprobs = LogSoftmax.of(logits).all(logits);
        List<double[]> out = new ArrayList<>();
        for (int v = 0; v < logits.length; v++) {
            out.add(new double[] {v, logprobs[v]});
        }
        out.sort((a, b) -> a[1] != b[1] ? Double.compare(b[1], a[1]) : Double.compare(a[0], b[0]));
        return out;
    }

    /** The text {@code token} adds after {@code prefix}; a token that adds none (a special token) is its own text. */
    private String piece(int[] prefix, int token) {
        int[] with = java.util.Arrays.copyOf(prefix, prefix.length + 1);
        with[prefix.length] = token;
        String piece = tokenizer.decode(with).substring(tokenizer.decode(prefix).length());
        return piece.isEmpty() ? tokenizer.tokenText(token) : piece;
    }

    private static List<Byte> toList(byte[] bytes) {
        List<Byte> out = new ArrayList<>();
        for (byte b : bytes) {
            out.add(b);
        }
        return out;
    }

    private static String dataUrl(String sample) throws Exception {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(SAMPLES.resolve(sample)));
    }

    private JsonNode post(Map<String, Object> body, HttpStatus expected) {
        byte[] response = http.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(body)).exchange().expectStatus().isEqualTo(expected)
                .expectBody().returnResult().getResponseBody();
        return json.readTree(response);
    }

    /** The {@code data:} payloads of a streamed response, in order; every event is a plain data event. */
    private List<String> stream(Map<String, Object> body) {
        String response = http.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(json.writeValueAsString(body)).exchange().expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
                .expectBody(String.class).returnResult().getResponseBody();
        List<String> data = new ArrayList<>();
        for (String event : response.split("\n\n")) {
            assertThat(event).startsWith("data: ");
            assertThat(event.lines()).hasSize(1);
            data.add(event.substring("data: ".length()));
        }
        return data;
    }

    private JsonNode get(String uri) {
        return json.readTree(http.get().uri(uri).exchange().expectStatus().isOk().expectBody().returnResult()
                .getResponseBody());
    }

    private long count(String table) {
        return db.sql("SELECT count(*) AS n FROM " + table).map(r -> r.get("n", Long.class)).one().block();
    }
}
