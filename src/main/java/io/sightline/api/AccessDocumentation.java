package io.sightline.api;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.stereotype.Component;

/**
 * The document's title and how {@link ApiKeyFilter} lets callers in: every {@code /v1} operation takes
 * {@code Authorization: Bearer <key>} (a team key; the admin key on {@code /v1/admin}), required when
 * {@code sightline.auth.enabled} is on and ignored when it is off (the admin paths always need the admin key). Client
 * generators read this to send the header; every such operation documents the 401 and 403 {@link ApiKeyFilter}
 * answers with.
 */
@Component
class AccessDocumentation implements OpenApiCustomizer {

    static final String TEAM_KEY = "teamKey";
    static final String ADMIN_KEY = "adminKey";

    @Override
    public void customise(OpenAPI api) {
        api.info(new Info().title("Sightline").version("v1")
                .description("Vision-language generation with decoding-time hallucination interventions, evaluations "
                        + "and A/B summaries. Errors are RFC 9457 problems (application/problem+json)."));
        api.getComponents()
                .addSecuritySchemes(TEAM_KEY, bearer("a team's API key (POST /v1/admin/api-keys makes one)"))
                .addSecuritySchemes(ADMIN_KEY, bearer("the admin key (sightline.auth.admin-key)"));
        api.getPaths().forEach((path, item) -> {
            if (path.startsWith("/v1/")) {
                Door door = path.startsWith(ApiKeyFilter.ADMIN) ? Door.ADMIN : Door.TEAM;
                item.readOperations().forEach(door::document);
            }
        });
    }

    /** What a door of {@link ApiKeyFilter} asks for, and why it refuses with 401 and 403. */
    private record Door(String scheme, String unauthorized, String forbidden) {

        static final Door TEAM = new Door(TEAM_KEY, "unauthorized (API keys on): no key, or an unknown or revoked one",
                "forbidden (API keys on): the admin key, which opens only /v1/admin");
        static final Door ADMIN = new Door(ADMIN_KEY, "unauthorized: no admin key, or an unknown one",
                "forbidden: a team key, or no admin key is configured");

        void document(Operation op) {
            op.addSecurityItem(new SecurityRequirement().addList(scheme)).getResponses()
                    .addApiResponse("401", ProblemDocumentation.asProblem(new ApiResponse().description(unauthorized)))
                    .addApiResponse("403", ProblemDocumentation.asProblem(new ApiResponse().description(forbidden)));
        }
    }

    private static SecurityScheme bearer(String description) {
        return new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer").description(description);
    }
}
