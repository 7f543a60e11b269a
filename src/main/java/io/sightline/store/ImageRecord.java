package io.sightline.store;

import io.sightline.vision.ImageHeader;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** One uploaded image, stored once under the SHA-256 of its bytes. */
public record ImageRecord(String sha256, byte[] bytes, String mediaType, int width, int height) {

    /** An image the preprocessor admitted, with what its header declared. */
    public static ImageRecord of(byte[] bytes, ImageHeader header) {
        return new ImageRecord(sha256(bytes), bytes, header.format().mediaType(), header.width(), header.height());
    }

    /** The key an image is stored under: lower-case hex SHA-256 of its encoded bytes. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JRE has SHA-256", e);
        }
    }
}
