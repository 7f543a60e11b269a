package io.sightline.engine;

import io.sightline.intervention.ArmSpec;
import java.util.List;

/**
 * One image, one prompt, several arms decoded side by side in the same ONNX calls.
 *
 * @param image    normalised pixels; null = text-only request
 * @param prompt   the user's prompt, inserted into the model's prompt template
 * @param decoding shared decoding settings
 * @param arms     at least one; {@code none} = plain decoding
 */
public record GenerationRequest(ImageInput image, String prompt, DecodingOptions decoding, List<ArmSpec> arms) {

    public static final int MAX_ARMS = 16;

    public GenerationRequest {
        if (prompt == null || prompt.isBlank()) {
            throw new InvalidParamsException("prompt", "must not be blank");
        }
        if (decoding == null) {
            throw new InvalidParamsException("decoding", "is required");
        }
        if (arms == null || arms.isEmpty()) {
            throw new InvalidParamsException("arms", "at least one arm is required");
        }
        if (arms.size() > MAX_ARMS) {
            throw new InvalidParamsException("arms", "at most " + MAX_ARMS + " arms, was " + arms.size());
        }
        arms = List.copyOf(arms);
    }
}
