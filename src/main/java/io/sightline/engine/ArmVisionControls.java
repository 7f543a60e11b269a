package io.sightline.engine;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Set;

/** One arm's rows of a vision call: controls and, for own-image branches, the pixels. */
public final class ArmVisionControls {

    private final VisionControls controls;
    private final int arm;
    private final Map<RowRef, Integer> rows;
    private final FloatBuffer pixels;
    private final int pixelsPerRow;
    private final String writer;
    private final Set<Slot> declared;

    /**
     * @param rows   the arm's rows in this call and their vision rows
     * @param pixels pixel_values of the call [Bv,3,H,W]
     */
    ArmVisionControls(VisionControls controls, int arm, Map<RowRef, Integer> rows, FloatBuffer pixels, int pixelsPerRow,
                      String writer, Set<Slot> declared) {
        this.controls = controls;
        this.arm = arm;
        this.rows = rows;
        this.pixels = pixels;
        this.pixelsPerRow = pixelsPerRow;
        this.writer = writer;
        this.declared = declared;
    }

    /** Controls of the arm's base image row (shared by its base row and the branches that see the same image). */
    public VisionRowControls image() {
        return row(new RowRef(arm, RowRef.BASE));
    }

    /** Controls of the vision row of one of the arm's rows in this call. */
    public VisionRowControls row(RowRef r) {
        return controls.row(at(r), writer, declared);
    }

    /**
     * PIXELS: the normalised pixels [3,H,W] of an own-image branch, initialised to the request's image; edit in
     * place before the call.
     */
    public FloatBuffer pixels(RowRef r) {
        if (!declared.contains(Slot.PIXELS)) {
            throw new ControlConflictException(writer + " writes PIXELS without declaring it in its footprint");
        }
        return pixels.duplicate().position(at(r) * pixelsPerRow).limit((at(r) + 1) * pixelsPerRow).slice();
    }

    /** Selects the ViT layer returned in {@code vision_attn}. */
    public void probeLayer(int l) {
        controls.probeLayer(l, writer);
    }

    private int at(RowRef r) {
        Integer v = rows.get(r);
        if (v == null) {
            throw new IllegalArgumentException(writer + ": row " + r + " has no vision row of its own in this call");
        }
        return v;
    }
}
