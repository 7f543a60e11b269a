package io.sightline.engine;

/**
 * Control slots an intervention may write (STYLE.md §2.2). Stackable slots combine across writers (bias adds,
 * scales multiply); exclusive slots take one writer per row, a second one is a {@link ControlConflictException}.
 */
public enum Slot {
    ATTN_BIAS(true), HEAD_SCALE(true), PATCH_SCALE(true),
    AMP(false), MIX(false), REDIST(false), FOCUS(false), PAIR(false),
    VISION_MIX(false),
    /** the pixels of an own-image branch row (VCD's noise) */
    PIXELS(false),
    /** row_mask: which query rows of a call the edits touch. */
    QUERY_ROWS(false),
    /** probe_layer of the decoder call: one value per call. */
    PROBE_LAYER(false),
    /** combining branch logits into the base row's; at most one per arm. */
    LOGITS(false);

    private final boolean stackable;

    Slot(boolean stackable) {
        this.stackable = stackable;
    }

    public boolean stackable() {
        return stackable;
    }
}
