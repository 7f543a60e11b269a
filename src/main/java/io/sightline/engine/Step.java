package io.sightline.engine;

/**
 * One decoder call: {@code index} 0 is the prefill, then one per generated token; -1 is the probe call that runs
 * the {@link io.sightline.intervention.Branch.Lifetime#PROBE} rows before the prefill.
 *
 * @param queries T, new query positions per row in this call
 * @param keys    S = P + T
 */
public record Step(int index, int queries, int keys) {

    /** The probe call: the prompt of the PROBE rows alone, with neutral controls, before the prefill. */
    static Step probe(int queries) {
        return new Step(-1, queries, queries);
    }

    public boolean isPrefill() {
        return index == 0;
    }

    public boolean isProbe() {
        return index < 0;
    }

    /** Whether the call feeds the rows' prompts (prefill, probe call) rather than their last token. */
    public boolean readsPrompt() {
        return index <= 0;
    }

    /** P, cached keys before this call. */
    public int past() {
        return keys - queries;
    }
}
