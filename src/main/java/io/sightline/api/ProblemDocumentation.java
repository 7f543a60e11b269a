package io.sightline.api;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import java.util.Map;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;

/**
 * Every error in the OpenAPI document is what {@link ProblemHandler} renders: controllers declare each status an
 * operation refuses with and why (its {@link ProblemType} names), and this gives those responses the
 * {@code application/problem+json} ProblemDetail schema, written out here because Spring's ProblemDetail bean
 * serializes its extension members flat, which springdoc cannot see.
 */
@Component
class ProblemDocumentation implements OpenApiCustomizer {

    static final String SCHEMA = "ProblemDetail";

    @Override
    public void customise(OpenAPI api) {
        api.getComponents().addSchemas(SCHEMA, problem());
        api.getPaths().values().stream()
                .flatMap(path -> path.readOperations().stream())
                .flatMap(operation -> operation.getResponses().entrySet().stream())
                .filter(response -> response.getKey().charAt(0) == '4' || response.getKey().charAt(0) == '5')
                .map(Map.Entry::getValue)
                .forEach(ProblemDocumentation::asProblem);
    }

    /** {@code response} answering with a ProblemDetail; whichever customizer runs first, refusals get the schema. */
    static ApiResponse asProblem(ApiResponse response) {
        return response.content(new Content().addMediaType(MediaType.APPLICATION_PROBLEM_JSON_VALUE,
                new io.swagger.v3.oas.models.media.MediaType().schema(new Schema<>().$ref(SCHEMA))));
    }

    private static Schema<?> problem() {
        Schema<?> fieldError = new ObjectSchema()
                .addProperty("field", new StringSchema().description("JSON path or part: arms[1].intervention"))
                .addProperty("message", new StringSchema());
        return new ObjectSchema()
                .description("RFC 9457 problem; type is " + ProblemType.BASE + "<name>, one row of api/ProblemType")
                .addProperty("type", new StringSchema().format("uri"))
                .addProperty("title", new StringSchema())
                .addProperty("status", new IntegerSchema())
                .addProperty("detail", new StringSchema())
                .addProperty("instance", new StringSchema().format("uri"))
                .addProperty("errors", new ArraySchema().items(fieldError)
                        .description("invalid-request, invalid-set: every offending field"))
                .addProperty("known", new ArraySchema().items(new StringSchema())
                        .description("unknown-intervention, unknown-set: the valid names"))
                .addProperty("field", new StringSchema().description("invalid-params and other refusals of one field"))
                .addProperty("error", new ObjectSchema().addProperty("message", new StringSchema())
                        .addProperty("type", new StringSchema())
                        .description("OpenAI-compatible paths only: detail and type where OpenAI SDKs read them"));
    }
}
