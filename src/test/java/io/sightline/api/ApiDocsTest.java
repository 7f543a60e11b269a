package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.media.SchemaProperty;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.reactive.result.method.annotation.RequestMappingHandlerMapping;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The OpenAPI document ({@code GET /v3/api-docs}) as a client generator reads it, in the same context as
 * {@link GenerationApiTest}: every POST shows the body its handler reads (the handlers read the request themselves,
 * so springdoc knows bodies only from annotations), every refusal is a ProblemDetail, every {@code $ref} resolves,
 * and each record the API reads or writes has a schema of its own (schemas are named by simple class name, so
 * two records named {@code Arm} would share one and the last one seen would describe both).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sightline.limits.max-image-bytes=64KB", "sightline.limits.max-image-pixels=1000000"})
@AutoConfigureWebTestClient(timeout = "PT120S")
class ApiDocsTest {

    private static final String SCHEMAS = "#/components/schemas/";
    /** POSTs whose handler reads no body. */
    private static final Set<String> BODILESS = Set.of("/v1/evaluations/{id}/cancel");

    @Autowired
    WebTestClient http;
    @Autowired
    JsonMapper json;
    @Autowired
    @Qualifier("requestMappingHandlerMapping")
    RequestMappingHandlerMapping handlers;

    private JsonNode doc;

    @BeforeEach
    void readDocument() {
        doc = json.readTree(http.get().uri("/v3/api-docs").exchange().expectStatus().isOk().expectBody()
                .returnResult().getResponseBody());
    }

    @Test
    void everyV1OperationTakesABearerKeyAndTheAdminOnesTheAdminKey() {
        assertThat(doc.get("info").get("title").asString()).isEqualTo("Sightline");
        JsonNode schemes = doc.get("components").get("securitySchemes");
        for (String name : List.of(AccessDocumentation.TEAM_KEY, AccessDocumentation.ADMIN_KEY)) {
            assertThat(schemes.get(name).get("type").asString()).isEqualTo("http");
            assertThat(schemes.get(name).get("scheme").asString()).isEqualTo("bearer");
        }
        int operations = 0;
        for (Map.Entry<String, JsonNode> path : doc.get("paths").properties()) {
            if (!path.getKey().startsWith("/v1/")) {
                continue;
            }
            String expected = path.getKey().startsWith("/v1/admin") ? AccessDocumentation.ADMIN_KEY
                    : AccessDocumentation.TEAM_KEY;
            for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
                assertThat(op.getValue().get("security").get(0).has(expected)).as(op.getKey() + " " + path.getKey())
                        .isTrue();
                for (String status : List.of("401", "403")) {
                    assertThat(problemSchema(op.getValue(), status)).as(op.getKey() + " " + path.getKey() + " " + status)
                            .isEqualTo("#/components/schemas/" + ProblemDocumentation.SCHEMA);
                }
                operations++;
            }
        }
        assertThat(operations).isGreaterThan(20);
    }

    @Test
    void everyOperationHasAnIdOfItsOwnAndEveryOneOnAnIdDocumentsNotFound() {
        // client generators name their methods after operationId: springdoc's fallbacks (list_3, get_1) are not names
        Set<String> ids = new HashSet<>();
        int operations = 0;
        for (Map.Entry<String, JsonNode> path : doc.get("paths").properties()) {
            if (!path.getKey().startsWith("/v1/")) {
                continue;
            }
            for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
                String where = op.getKey() + " " + path.getKey();
                String id = op.getValue().get("operationId").asString();
                assertThat(id).as(where).matches("[a-z][A-Za-z]+");
                assertThat(ids.add(id)).as(where + ": " + id + " twice").isTrue();
                if (path.getKey().contains("/{")) {
                    assertThat(problemSchema(op.getValue(), "404")).as(where)
                            .isEqualTo("#/components/schemas/" + ProblemDocumentation.SCHEMA);
                }
                operations++;
            }
        }
        assertThat(operations).isGreaterThan(20);
    }

    /** The schema $ref of an operation's {@code status} response as application/problem+json, or null. */
    private static String problemSchema(JsonNode operation, String status) {
        JsonNode ref = operation.path("responses").path(status).path("content").path("application/problem+json")
                .path("schema").path("$ref");
        return ref.isMissingNode() ? null : ref.asString();
    }

    @Test
    void everyPostUnderV1DescribesItsBodyAndAnswersRefusalsWithProblemDetails() {
        List<String> posts = new ArrayList<>();
        doc.get("paths").properties().stream().filter(p -> p.getKey().startsWith("/v1/") && p.getValue().has("post"))
                .forEach(p -> {
                    posts.add(p.getKey());
                    JsonNode post = p.getValue().get("post");
                    if (BODILESS.contains(p.getKey())) {
                        assertThat(post.has("requestBody")).as(p.getKey()).isFalse();
                    } else {
                        assertThat(post.get("requestBody")).as(p.getKey() + " requestBody").isNotNull();
                        assertThat(post.get("requestBody").get("content").size()).as(p.getKey()).isPositive();
                    }
                    post.get("responses").properties().stream().filter(r -> r.getKey().compareTo("400") >= 0)
                            .forEach(r -> assertThat(r.getValue().get("content").get("application/problem+json")
                                    .get("schema").get("$ref").asString()).as(p.getKey() + " " + r.getKey())
                                    .isEqualTo(SCHEMAS + "ProblemDetail"));
                });
        assertThat(posts).contains("/v1/generations", "/v1/generations/{id}/feedback", "/v1/evaluations",
                "/v1/chat/completions", "/v1/admin/api-keys");
        assertThat(schema("ProblemDetail").get("properties").propertyNames())
                .contains("type", "title", "status", "detail", "instance", "errors", "known", "field");
    }

    @Test
    void aGenerationIsCreatedFromJsonOrMultipartWith201AndLocation() {
        JsonNode post = doc.get("paths").get("/v1/generations").get("post");
        assertThat(post.get("operationId").asString()).isEqualTo("createGeneration");
        JsonNode content = post.get("requestBody").get("content");
        assertThat(content.propertyNames()).containsExactlyInAnyOrder("application/json", "multipart/form-data");
        JsonNode body = resolve(content.get("application/json").get("schema"));
        assertThat(body.get("properties").propertyNames()).contains("prompt", "image", "max_new_tokens", "arms");

        JsonNode multipart = content.get("multipart/form-data");
        JsonNode parts = multipart.get("schema").get("properties");
        assertThat(parts.propertyNames()).containsExactlyInAnyOrder("image", "request");
        assertThat(multipart.get("schema").get("required").valueStream().map(JsonNode::asString))
                .containsExactlyInAnyOrder("image", "request");
        assertThat(parts.get("image").get("format").asString()).isEqualTo("binary");
        assertThat(resolve(parts.get("request"))).isEqualTo(body);
        assertThat(multipart.get("encoding").get("request").get("contentType").asString()).isEqualTo("application/json");
        assertThat(post.get("parameters").valueStream().map(p -> p.get("name").asString())).contains("Idempotency-Key");

        JsonNode responses = post.get("responses");
        assertThat(responses.propertyNames()).doesNotContain("200")
                .contains("201", "400", "409", "413", "415", "422", "429", "500", "504");
        assertThat(responses.get("201").get("headers").propertyNames()).contains("Location");
        assertThat(resolve(responses.get("201").get("content").get("application/json").get("schema"))
                .get("properties").propertyNames()).contains("id", "status", "outputs");
    }

    @Test
    void feedbackShowsItsBodyAnd201() {
        JsonNode post = doc.get("paths").get("/v1/generations/{id}/feedback").get("post");
        JsonNode body = resolve(post.get("requestBody").get("content").get("application/json").get("schema"));
        assertThat(body.get("properties").propertyNames()).containsExactlyInAnyOrder("preferred_arm", "note", "arms");
        assertThat(post.get("responses").propertyNames()).contains("201", "400", "404", "409").doesNotContain("200");
        assertThat(resolve(post.get("responses").get("201").get("content").get("application/json").get("schema"))
                .get("properties").propertyNames()).contains("id", "generation_id", "arms");
    }

    @Test
    void chatCompletionsTakeTheOpenAiRequestAndAnswerJsonOrEventStream() {
        JsonNode post = doc.get("paths").get("/v1/chat/completions").get("post");
        JsonNode body = resolve(post.get("requestBody").get("content").get("application/json").get("schema"));
        assertThat(body.get("properties").propertyNames()).contains("messages", "model", "stream", "intervention");
        JsonNode ok = post.get("responses").get("200").get("content");
        assertThat(ok.propertyNames()).containsExactlyInAnyOrder("application/json", "text/event-stream");
        assertThat(resolve(ok.get("application/json").get("schema")).get("properties").propertyNames())
                .contains("id", "choices", "usage");
        assertThat(resolve(ok.get("text/event-stream").get("schema")).get("properties").propertyNames())
                .contains("id", "choices");
        assertThat(post.get("responses").propertyNames()).contains("400", "404", "422", "429");
    }

    /** The records that once shared the names Arm and Message, each found where a client meets it. */
    @Test
    void sameNamedRecordsKeepTheirOwnProperties() {
        assertThat(itemProperties(schema("GenerationBody"), "arms")).containsExactlyInAnyOrder("intervention", "params");
        assertThat(itemProperties(schema("FeedbackBody"), "arms")).containsExactlyInAnyOrder("arm", "hallucinated", "note");
        assertThat(itemProperties(schema("FeedbackView"), "arms")).containsExactlyInAnyOrder("arm", "hallucinated", "note");
        assertThat(itemProperties(schema("ExperimentSummaryView"), "arms"))
                .contains("intervention", "params", "outputs", "win_rate", "hallucination_rate");
        assertThat(itemProperties(schema("ChatCompletionRequest"), "messages")).containsExactlyInAnyOrder("role", "content");
        assertThat(resolve(resolve(schema("Completion").get("properties").get("choices").get("items"))
                .get("properties").get("message")).get("properties").propertyNames())
                .containsExactlyInAnyOrder("role", "content", "refusal");
    }

    @Test
    void everyReferencedSchemaExists() {
        Set<String> refs = new TreeSet<>();
        collectRefs(doc, refs);
        assertThat(refs).isNotEmpty().allSatisfy(ref -> {
            assertThat(ref).startsWith(SCHEMAS);
            assertThat(doc.get("components").get("schemas").has(ref.substring(SCHEMAS.length()))).as(ref).isTrue();
        });
    }

    /** Stored JSON (params, logprobs, scores) travels as its value, not as Jackson's node accessors. */
    @Test
    void storedJsonIsAnyJsonValue() {
        JsonNode params = resolve(schema("Output").get("properties").get("params"));
        assertThat(params.has("properties")).isFalse();
        assertThat(params.has("type")).isFalse();
    }

    /**
     * Every record reachable from the handlers (return types, and the classes their OpenAPI annotations name) maps to
     * a schema name no other such record has, and that schema lists exactly the record's JSON properties.
     */
    @Test
    void everyRecordTheApiReadsOrWritesHasASchemaOfItsOwn() {
        Set<Class<?>> records = new HashSet<>();
        handlers.getHandlerMethods().values().stream()
                .filter(h -> h.getBeanType().getPackageName().equals(ApiDocsTest.class.getPackageName()))
                .map(HandlerMethod::getMethod)
                .forEach(m -> {
                    walk(m.getGenericReturnType(), records);
                    documented(m).forEach(c -> walk(c, records));
                });
        Map<String, List<String>> byName = records.stream().collect(Collectors.groupingBy(ApiDocsTest::schemaName,
                TreeMap::new, Collectors.mapping(Class::getName, Collectors.toList())));
        assertThat(byName).as("schema name -> records").allSatisfy((name, classes) -> assertThat(classes).hasSize(1));
        assertThat(byName).containsKeys("RequestArm", "FeedbackBodyArm", "FeedbackArm", "ExperimentArm");
        for (Class<?> record : records) {
            assertThat(schema(schemaName(record)).get("properties").propertyNames()).as(record.getName())
                    .containsExactlyInAnyOrderElementsOf(jsonNames(record));
        }
    }

    /** The classes a handler's swagger annotations name as request or response bodies and multipart parts. */
    private static Stream<Class<?>> documented(Method m) {
        Stream<Content> contents = Stream.concat(
                Stream.ofNullable(m.getAnnotation(RequestBody.class)).flatMap(b -> Arrays.stream(b.content())),
                Arrays.stream(m.getAnnotationsByType(ApiResponse.class)).flatMap(r -> Arrays.stream(r.content())));
        return contents.flatMap(c -> Stream.concat(Stream.of(c.schema()),
                        Arrays.stream(c.schemaProperties()).map(SchemaProperty::schema)))
                .map(Schema::implementation)
                .filter(c -> c != Void.class);
    }

    private static void walk(Type type, Set<Class<?>> records) {
        if (type instanceof ParameterizedType p) {
            Arrays.stream(p.getActualTypeArguments()).forEach(t -> walk(t, records));
        } else if (type instanceof Class<?> c && c.isArray()) {
            walk(c.getComponentType(), records);
        } else if (type instanceof Class<?> c && c.isRecord() && records.add(c)) {
            Arrays.stream(c.getRecordComponents()).forEach(rc -> walk(rc.getGenericType(), records));
        }
    }

    private static String schemaName(Class<?> record) {
        Schema named = record.getAnnotation(Schema.class);
        return named != null && !named.name().isEmpty() ? named.name() : record.getSimpleName();
    }

    private static List<String> jsonNames(Class<?> record) {
        return Arrays.stream(record.getRecordComponents()).map(ApiDocsTest::jsonName).toList();
    }

    private static String jsonName(RecordComponent component) {
        JsonProperty renamed = component.getAccessor().getAnnotation(JsonProperty.class);
        return renamed != null ? renamed.value() : component.getName();
    }

    private static void collectRefs(JsonNode node, Set<String> refs) {
        if (node.has("$ref")) {
            refs.add(node.get("$ref").asString());
        }
        node.forEach(child -> collectRefs(child, refs));
    }

    private Collection<String> itemProperties(JsonNode schema, String arrayProperty) {
        return resolve(schema.get("properties").get(arrayProperty).get("items")).get("properties").propertyNames();
    }

    private JsonNode schema(String name) {
        JsonNode schema = doc.get("components").get("schemas").get(name);
        assertThat(schema).as("schema " + name).isNotNull();
        return schema;
    }

    /** The schema a {@code $ref} points at in {@code components/schemas}; the schema itself when it has none. */
    private JsonNode resolve(JsonNode schema) {
        return schema.has("$ref") ? schema(schema.get("$ref").asString().substring(SCHEMAS.length())) : schema;
    }
}
