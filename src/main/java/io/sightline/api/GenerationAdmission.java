package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.intervention.ArmSpec;
import io.sightline.store.ImageRecord;
import io.sightline.vision.ImagePreprocessor;
import io.sightline.vision.PreparedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Every check a generation passes before anything is stored: field ranges (400 invalid-request, all offending
 * fields at once), then the image (415/413/422), then each arm against the registry (422 unknown-intervention or
 * invalid-params). A request refused here leaves no row behind.
 */
public final class GenerationAdmission {

    static final int DEFAULT_MAX_NEW_TOKENS = 32;

    private final ImagePreprocessor images;
    private final DecodingAdmission decoding;
    private final int maxPromptChars;
    private final Duration maxTimeout;

    public GenerationAdmission(ImagePreprocessor images, DecodingAdmission decoding, int maxPromptChars,
                               Duration maxTimeout) {
        this.images = images;
        this.decoding = decoding;
        this.maxPromptChars = maxPromptChars;
        this.maxTimeout = maxTimeout;
    }

    /** Blocking: decodes the image. */
    AdmittedGeneration admit(GenerationBody body, byte[] imageBytes, DecodingOptions.ArmSeeds armSeeds) {
        List<FieldError> errors = new ArrayList<>();
        String prompt = body.prompt();
        if (prompt == null) {
            errors.add(new FieldError("prompt", "is required"));
        } else if (prompt.isBlank()) {
            errors.add(new FieldError("prompt", "must not be blank"));
        } else if (prompt.length() > maxPromptChars) {
            errors.add(new FieldError("prompt", "at most " + maxPromptChars + " characters, was " + prompt.length()));
        }
        errors.addAll(decoding.check(body, DEFAULT_MAX_NEW_TOKENS));
        long timeoutMs = body.timeoutMs() != null ? body.timeoutMs() : maxTimeout.toMillis();
        if (timeoutMs < 1 || timeoutMs > maxTimeout.toMillis()) {
            errors.add(new FieldError("timeout_ms", "must be in 1.." + maxTimeout.toMillis() + ", was " + timeoutMs));
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }

        PreparedImage image = images.prepare(imageBytes);

        DecodingAdmission.Bound bound = decoding.bind(body, DEFAULT_MAX_NEW_TOKENS, armSeeds);
        GenerationRequest request = new GenerationRequest(image.input(), prompt, bound.decoding(), bound.arms());
        return new AdmittedGeneration(request, image, imageBytes, ImageRecord.sha256(imageBytes), bound.accepted(),
                bound.arms().stream().map(ArmSpec::intervention).toList(), Duration.ofMillis(timeoutMs));
    }
}
