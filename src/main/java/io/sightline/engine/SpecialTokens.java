package io.sightline.engine;

/** model.json {@code special_tokens}: the strings and their ids. */
public record SpecialTokens(String bos, String eos, String pad, String image, int bosId, int eosId, int padId,
                            int imageId) {
}
