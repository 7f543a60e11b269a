package io.sightline.engine;

/**
 * Control slots an intervention may write (STYLE.md §2.2). Stackable slots combine across writers (bias adds,
 * scales multiply); exclusive slots take one writer per row, a second one is a {@link ControlConflictException}.
 */
public enum Slot {
    ATTN_BIAS(true, true), HEAD_SCALE(true, true), PATCH_SCALE(true, false),
    AMP(false, true), MIX(false, true), REDIST(false, true), FOCUS(false, true), PAIR(false, true),
    VISION_MIX(false, false),
    /** the pixels of an own-image branch row (VCD's noise) */
    PIXELS(false, false),
    /** row_mask: which query rows of a call the edits touch. */
    QUERY_ROWS(false, true),
    /** probe_layer of the decoder call: one value per call. */
    PROBE_LAYER(false, true),
    /** combining branch logits into the base row's; at most one per arm. */
    LOGITS(false, false);

    private final boolean stackable;
    private final boolean decoder;

    Slot(boolean stackable, boolean decoder) {
        this.stackable = stackable;
        this.decoder = decoder;
    }

    public boolean stackable() {
        return stackable;
    }

    /** Whether the slot is an input of decoder.onnx (a call whose arms write none of these may run decoder_plain). */
    public boolean decoder() {
        return decoder;
    }
}
