package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The JSON of {@code POST /v1/evaluations} (the body, or the {@code request} part of an upload). Decoding options
 * and arms as in {@link GenerationBody}; absent {@code max_new_tokens} takes the set's default (POPE 3, CHAIR
 * captions 32, sycophancy 3, fine-grained 4, as onnx-models/tools/reference.py). Unknown fields are rejected.
 *
 * @param set    a shipped set by name, e.g. {@code shapes-v1/pope-adversarial} (JSON body only)
 * @param upload the uploaded set's name and kind (multipart only); absent, it is left out of the JSON, so a JSON
 *               body's idempotency fingerprint is what it was before uploads existed
 * @param limit  run the set's first {@code limit} items (file order, as reference.py's limit); default all
 * @param seed   sampling seed; item i samples with seed + i
 */
public record EvaluationBody(String set,
                             @JsonInclude(JsonInclude.Include.NON_NULL) Upload upload,
                             Integer limit,
                             @JsonProperty("max_new_tokens") Integer maxNewTokens,
                             Double temperature,
                             @JsonProperty("top_k") Integer topK,
                             @JsonProperty("top_p") Double topP,
                             Long seed,
                             List<String> stop,
                             List<GenerationBody.Arm> arms) implements DecodingFields {

    /**
     * @param name stored as the evaluation's set {@code upload/<name>}
     * @param kind {@code pope} (yes/no questions) or {@code chair} (caption prompts with ground-truth objects)
     */
    public record Upload(String name, String kind) {
    }
}
