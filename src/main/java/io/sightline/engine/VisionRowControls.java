package io.sightline.engine;

import java.util.Set;

/** Writes one vision row's controls: {@code n} patch index, {@code l} ViT layer, {@code h} ViT head. */
public final class VisionRowControls {

    private final VisionControls c;
    private final int v;
    private final String writer;
    private final Set<Slot> declared;

    VisionRowControls(VisionControls c, int v, String writer, Set<Slot> declared) {
        this.c = c;
        this.v = v;
        this.writer = writer;
        this.declared = declared;
    }

    private void claim(Slot slot) {
        if (!declared.contains(slot)) {
            throw new ControlConflictException(writer + " writes " + slot + " without declaring it in its footprint");
        }
        c.claim(v, slot, writer);
    }

    /** PATCH_SCALE: multiplies patch n's features before the projector. */
    public VisionRowControls scalePatch(int n, float f) {
        int patches = c.d.imageTokens();
        if (n < 0 || n >= patches) {
            throw new InvalidParamsException("patch", "must be in 0.." + (patches - 1) + ", was " + n);
        }
        claim(Slot.PATCH_SCALE);
        int i = v * patches + n;
        c.patchScale.put(i, c.patchScale.get(i) * f);
        return this;
    }

    /**
     * VISION_MIX: head h's ViT attention at layer l becomes (1-value) A + value alt.
     *
     * @param alt [N+1,N+1] row-major, CLS first
     */
    public VisionRowControls mix(int l, int h, float value, float[] alt) {
        c.checkLayer(l);
        if (h < 0 || h >= c.d.visionHeads()) {
            throw new InvalidParamsException("vision.head", "must be in 0.." + (c.d.visionHeads() - 1) + ", was " + h);
        }
        int n1 = c.d.imageTokens() + 1;
        if (alt.length != n1 * n1) {
            throw new InvalidParamsException("vision.mix_alt", "needs " + n1 * n1 + " weights, has " + alt.length);
        }
        claim(Slot.VISION_MIX);
        int lh = (v * c.d.visionLayers() + l) * c.d.visionHeads() + h;
        c.mix.put(lh, value);
        for (int i = 0; i < alt.length; i++) {
            c.mixAlt.put(lh * n1 * n1 + i, alt[i]);
        }
        return this;
    }
}
