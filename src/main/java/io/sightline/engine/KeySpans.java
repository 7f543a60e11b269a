package io.sightline.engine;

import java.util.BitSet;

/**
 * Where a row's keys are in one call's {@code S} keys after left padding. Ranges are half-open; a row without an
 * image has an empty image range.
 *
 * @param keys      S
 * @param padding   left padding: keys [0, padding) are not real
 * @param imageFrom first image key, equal to imageTo when the row has no image
 * @param questionFrom first key of the user's prompt words (between the image and the template's suffix)
 * @param promptEnd first generated key (padding + prompt length)
 */
public record KeySpans(int keys, int padding, int imageFrom, int imageTo, int questionFrom, int questionTo,
                       int promptEnd) {

    /** The image tokens. */
    public BitSet image() {
        return range(imageFrom, imageTo);
    }

    /** Real prompt keys that are not image tokens. */
    public BitSet text() {
        BitSet b = range(padding, promptEnd);
        b.andNot(image());
        return b;
    }

    /** The first real key. */
    public BitSet bos() {
        return range(padding, padding + 1);
    }

    /** The user's prompt words. */
    public BitSet question() {
        return range(questionFrom, questionTo);
    }

    /** Every real key, generated ones included. */
    public BitSet all() {
        return range(padding, keys);
    }

    /** Keys generated so far. */
    public BitSet generated() {
        return range(promptEnd, keys);
    }

    public boolean hasImage() {
        return imageTo > imageFrom;
    }

    private BitSet range(int from, int to) {
        BitSet b = new BitSet(keys);
        b.set(Math.min(from, keys), Math.min(to, keys));
        return b;
    }
}
