package io.sightline.vision;

import static io.sightline.vision.ImageRejectedException.Reason.TOO_MANY_BYTES;
import static io.sightline.vision.ImageRejectedException.Reason.TOO_MANY_PIXELS;

/**
 * Bounds checked before any pixel is decoded.
 *
 * @param maxBytes  encoded size at most
 * @param maxPixels width x height at most, as declared by the header (decompression bombs are tiny files)
 */
public record ImageLimits(long maxBytes, long maxPixels) {

    public ImageLimits {
        if (maxBytes < 1 || maxPixels < 1) {
            throw new IllegalArgumentException("image limits must be positive: " + maxBytes + " bytes, " + maxPixels + " pixels");
        }
    }

    /** Rejects an encoded length above {@link #maxBytes()}; usable before the bytes are even buffered. */
    public void checkLength(long length) {
        if (length > maxBytes) {
            throw new ImageRejectedException(TOO_MANY_BYTES,
                    "image is " + length + " bytes, the limit is " + maxBytes);
        }
    }

    /** Checks size, signature and declared dimensions; returns the header on success. */
    public ImageHeader admit(byte[] bytes) {
        checkLength(bytes.length);
        ImageHeader header = ImageHeader.read(bytes);
        if (header.pixels() > maxPixels) {
            throw new ImageRejectedException(TOO_MANY_PIXELS, "image declares " + header.width() + "x"
                    + header.height() + " = " + header.pixels() + " pixels, the limit is " + maxPixels);
        }
        return header;
    }
}
