package io.sightline.store;

/** One uploaded image, stored once under the SHA-256 of its bytes. */
public record ImageRecord(String sha256, byte[] bytes, String mediaType, int width, int height) {
}
