package io.sightline.engine;

/**
 * One decoder call: {@code index} 0 is the prefill, then one per generated token.
 *
 * @param queries T, new query positions per row in this call
 * @param keys    S = P + T
 */
public record Step(int index, int queries, int keys) {

    public boolean isPrefill() {
        return index == 0;
    }

    /** P, cached keys before this call. */
    public int past() {
        return keys - queries;
    }
}
