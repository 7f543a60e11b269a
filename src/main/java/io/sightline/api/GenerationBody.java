package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/**
 * The JSON of {@code POST /v1/generations}: the whole body for application/json, the {@code request} part for
 * multipart (whose image travels as the {@code image} part). Absent fields take the defaults in
 * {@link GenerationAdmission}; unknown fields are rejected, so a misspelt option never goes silently unused.
 *
 * @param image     base64 of the encoded image, or a {@code data:} URL; JSON bodies only
 * @param arms      interventions to run side by side; default {@code [{"intervention": "none"}]}
 * @param timeoutMs cancels the generation (stored as failed) when it has not finished this long after it was
 *                  queued; default and upper bound {@code sightline.engine.request-timeout}
 */
public record GenerationBody(String prompt,
                             String image,
                             @JsonProperty("max_new_tokens") Integer maxNewTokens,
                             Double temperature,
                             @JsonProperty("top_k") Integer topK,
                             @JsonProperty("top_p") Double topP,
                             Long seed,
                             List<String> stop,
                             List<Arm> arms,
                             @JsonProperty("timeout_ms") Long timeoutMs) implements DecodingFields {

    /**
     * @param intervention registry name ({@code GET /v1/interventions} lists them)
     * @param params       values laid over the method's defaults
     */
    // each Arm record has its own name in the OpenAPI document, whose schemas are named by simple class name
    @Schema(name = "RequestArm")
    public record Arm(String intervention, Map<String, Object> params) {
    }
}
