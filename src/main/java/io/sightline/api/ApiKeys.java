package io.sightline.api;

import io.sightline.store.ImageRecord;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The form of a team API key: {@code sl_} and 256 random bits in base64url. With that much entropy a plain SHA-256
 * is safe to store (no guessing attack to slow down with a salted, slow hash) and lets a request's key be found by
 * one index lookup.
 */
final class ApiKeys {

    static final String PREFIX = "sl_";
    private static final int RANDOM_BYTES = 32;
    /** Characters of a key kept readable in listings: the prefix and 6 random characters. */
    private static final int SHOWN_CHARS = PREFIX.length() + 6;
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {
    }

    static String generate() {
        byte[] bytes = new byte[RANDOM_BYTES];
        RANDOM.nextBytes(bytes);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static String sha256(String key) {
        return ImageRecord.sha256(key.getBytes(StandardCharsets.UTF_8));
    }

    /** What listings show of a key, so that people can tell theirs apart. */
    static String shown(String key) {
        return key.substring(0, Math.min(SHOWN_CHARS, key.length()));
    }
}
