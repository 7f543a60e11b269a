package io.sightline.engine;

import java.util.Set;

/** One arm's image row in the vision call. */
public final class ArmVisionControls {

    private final VisionControls controls;
    private final int row;
    private final String writer;
    private final Set<Slot> declared;

    ArmVisionControls(VisionControls controls, int row, String writer, Set<Slot> declared) {
        this.controls = controls;
        this.row = row;
        this.writer = writer;
        this.declared = declared;
    }

    /** Controls of the arm's image row (shared by its base row and image branches). */
    public VisionRowControls image() {
        return controls.row(row, writer, declared);
    }

    /** Selects the ViT layer returned in {@code vision_attn}. */
    public void probeLayer(int l) {
        controls.probeLayer(l, writer);
    }
}
