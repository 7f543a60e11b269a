package io.sightline.engine;

/**
 * One decoder call: {@code index} 0 is the prefill, then one per generated token; -1 is the probe call before the
 * prefill (only when some arm declares {@link io.sightline.intervention.Branch.Lifetime#PROBE} rows).
 *
 * @param queries T, new query positions per row in this call
 * @param keys    S = P + T
 */
public record Step(int index, int queries, int keys) {

    /** The call before the prefill that runs only {@link io.sightline.intervention.Branch.Lifetime#PROBE} rows. */
    public static Step probe(int queries) {
        return new Step(-1, queries, queries);
    }

    public boolean isPrefill() {
        return index == 0;
    }

    /** Whether the call feeds the whole prompt: the prefill and the probe call. */
    public boolean feedsPrompt() {
        return index <= 0;
    }

    /** Whether this is the probe call: it emits no token. */
    public boolean isProbe() {
        return index < 0;
    }

    /** P, cached keys before this call. */
    public int past() {
        return keys - queries;
    }
}
