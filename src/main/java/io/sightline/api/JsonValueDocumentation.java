package io.sightline.api;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.media.Schema;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Views hand on stored JSON as a {@link JsonNode} (params, logprobs, scores, the accepted request), which Jackson
 * writes as the JSON value itself; springdoc sees a bean and described its accessors ({@code isArray},
 * {@code nodeType}, ...) as properties. In the document it is any JSON value.
 */
@Component
class JsonValueDocumentation implements OpenApiCustomizer {

    @Override
    public void customise(OpenAPI api) {
        api.getComponents().getSchemas().computeIfPresent(JsonNode.class.getSimpleName(),
                (name, bean) -> new Schema<>().description("any JSON value, as stored"));
    }
}
