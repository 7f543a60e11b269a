package io.sightline.store;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** One uploaded image, stored once under the SHA-256 of its bytes. */
public record ImageRecord(String sha256, byte[] bytes, String mediaType, int width, int height) {

    /** The key an image is stored under: lower-case hex SHA-256 of its encoded bytes. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JRE has SHA-256", e);
        }
    }
}
