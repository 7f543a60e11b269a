package io.sightline.vision;

import io.sightline.engine.SightlineException;

/**
 * The uploaded bytes cannot become model input. {@link #code()} says why; {@code api/} maps it to a status
 * (415 not an image, 413 too many bytes, 422 too many pixels or corrupt).
 */
public final class ImageRejectedException extends SightlineException {

    /** Why an image was rejected; the code is the stable name {@code api/} maps. */
    public enum Reason {
        NOT_AN_IMAGE("unsupported-media-type"),
        TOO_MANY_BYTES("payload-too-large"),
        TOO_MANY_PIXELS("image-too-large"),
        CORRUPT("invalid-image");

        private final String code;

        Reason(String code) {
            this.code = code;
        }
    }

    private final Reason reason;

    public ImageRejectedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    @Override
    public String code() {
        return reason.code;
    }
}
