package io.sightline.intervention;

import io.sightline.engine.ArmControls;
import io.sightline.engine.ArmLogits;
import io.sightline.engine.ArmVisionControls;
import io.sightline.engine.Probes;
import io.sightline.engine.Step;
import io.sightline.engine.VisionProbes;

/** Per-arm hooks of the step loop. Every hook defaults to doing nothing, which is plain decoding. */
public interface Steerer {

    /**
     * Before the vision call: write this arm's vision controls (only with PATCH_SCALE / VISION_MIX in the footprint).
     * An arm whose base image row is shared (it writes only its OWN_IMAGE branches) is called too when it reads
     * VISION_ATTN, to pick the probe layer; it has no vision row to write there.
     */
    default void beforeVision(ArmVisionControls out) {
    }

    /** After the vision call: read the probes the footprint declared (CLS_ATTN, VISION_ATTN). */
    default void afterVision(VisionProbes in) {
    }

    /**
     * After {@link #afterVision}, only for arms with {@link Branch.InputEdit#OWN_IMAGE} branches: write those rows'
     * pixels and vision controls (a second vision call runs them).
     */
    default void beforeBranchImages(ArmVisionControls out) {
    }

    /**
     * Before each decoder call: write controls of this arm's rows. The probe call ({@link Step#isProbe()}) reaches
     * only arms with {@link Branch.Lifetime#PROBE} rows, and holds only those rows.
     */
    default void beforeCall(Step step, ArmControls out) {
    }

    /**
     * After each decoder call: read this call's probes; the views die when the hook returns. Arms with
     * {@link Branch.Lifetime#PROBE} rows also get the probe call before the prefill ({@link Step#isProbe()}), in
     * which only those rows exist.
     */
    default void afterCall(Step step, Probes in) {
    }

    /** Fold branch rows into the base row's logits (only with LOGITS in the footprint). */
    default void combine(Step step, ArmLogits io) {
    }
}
