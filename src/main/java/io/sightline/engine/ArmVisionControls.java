package io.sightline.engine;

/** One arm's image row in the vision call. */
public final class ArmVisionControls {

    private final VisionControls controls;
    private final int row;
    private final String writer;

    ArmVisionControls(VisionControls controls, int row, String writer) {
        this.controls = controls;
        this.row = row;
        this.writer = writer;
    }

    /** Controls of the arm's image row (shared by its base row and image branches). */
    public VisionRowControls image() {
        return controls.row(row, writer);
    }

    /** Selects the ViT layer returned in {@code vision_attn}. */
    public void probeLayer(int l) {
        controls.probeLayer(l, writer);
    }
}
