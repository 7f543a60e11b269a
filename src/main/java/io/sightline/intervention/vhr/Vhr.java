package io.sightline.intervention.vhr;

import io.sightline.engine.ArmControls;
import io.sightline.engine.FloatView;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.Probes;
import io.sightline.engine.RowControls;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * VHR, Vision-aware Head Reinforcement (He et al., "Cracking the Code of Hallucination in LVLMs with Vision-aware
 * Head Divergence", ACL 2025, arXiv 2412.13949). At the prefill, layer by layer, the heads whose last-position output
 * moves most when the image is removed (vision-aware head divergence, VHD above the layer's median) are multiplied by
 * {@code alpha}; that head set is frozen and the same heads are multiplied by {@code alpha} at every later step.
 *
 * <p>On the ABI: the image-free prompt is a PREFILL_ONLY TEXT_ONLY branch, and the base row pairs with it
 * ({@code pair_row}/{@code pair_alpha}): the graph computes VHD from both rows' head outputs at each reinforced layer
 * of the same pass, zeroes heads that are outliers in both VHD and text-only energy (mean + 1 unbiased std), scales
 * the heads above the lower median, and returns them in {@code pair_heads}, which later steps replay as
 * {@code head_scale}. Because the text-only row is never reinforced, reading its outputs in the same pass equals the
 * paper's lock-step layer-by-layer selection (earlier reinforced layers of the image row shape later VHDs).
 * Deviations: whether the paper also reinforces the text-only pass is not stated (here it is not); the layers are the
 * paper's "layer 2 + the last 14 of 32" scaled to this depth (calibration.json vhr.layers). Reference:
 * onnx-models/tools/methods/vhr.py. No-op: alpha = 1.
 */
public final class Vhr implements Intervention<Vhr.Params> {

    static final String TEXT_ONLY = "text-only";

    /**
     * @param alpha  factor on the chosen heads' outputs
     * @param layers decoder layers whose heads are selected and reinforced
     */
    public record Params(@Range(min = 0, minExclusive = true) double alpha, List<Integer> layers) {
        public Params {
            if (!(alpha > 0) || Double.isInfinite(alpha)) {
                throw new InvalidParamsException("alpha", "must be a finite number > 0, was " + alpha);
            }
            if (layers == null) {
                throw new InvalidParamsException("layers", "must be a list of decoder layers");
            }
            layers = List.copyOf(layers);
            if (new HashSet<>(layers).size() != layers.size() || layers.stream().anyMatch(l -> l < 0)) {
                throw new InvalidParamsException("layers", "must be distinct layer indices >= 0, was " + layers);
            }
        }
    }

    private final ModelBundle model;

    public Vhr(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "vhr";
    }

    @Override
    public String paper() {
        return "He et al., Cracking the Code of Hallucination in LVLMs with Vision-aware Head Divergence, ACL 2025";
    }

    @Override
    public String summary() {
        return "At the prefill, multiplies by alpha the heads whose output diverges most with and without the image; "
                + "the same heads stay reinforced at every later step.";
    }

    @Override
    public Params defaults() {
        List<Integer> layers = new ArrayList<>();
        for (Object l : (List<?>) model.calibrated("vhr", "layers")) {
            layers.add(((Number) l).intValue());
        }
        return new Params(2.0, layers);
    }

    @Override
    public Footprint footprint(Params p) {
        int depth = model.dims().layers();
        for (int l : p.layers()) {
            if (l >= depth) {
                throw new InvalidParamsException("layers", "must be in 0.." + (depth - 1) + ", was " + p.layers());
            }
        }
        return new Footprint(List.of(new Branch(TEXT_ONLY, Branch.InputEdit.TEXT_ONLY, Branch.Lifetime.PREFILL_ONLY)),
                Set.of(Slot.PAIR, Slot.HEAD_SCALE), Set.of(ProbeKind.PAIR_HEADS));
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        float alpha = (float) p.alpha();
        int heads = model.dims().heads();
        return new Steerer() {
            /** [layer index in p.layers()][h]: the heads the prefill's pair rule chose, replayed at every later step. */
            private final boolean[][] chosen = new boolean[p.layers().size()][heads];

            @Override
            public void beforeCall(Step step, ArmControls out) {
                if (alpha == 1) {
                    return;
                }
                RowControls base = out.row(arm.base());
                for (int i = 0; i < p.layers().size(); i++) {
                    int l = p.layers().get(i);
                    if (step.isPrefill()) {
                        base.pairWith(arm.branch(TEXT_ONLY), l, alpha);
                        continue;
                    }
                    for (int h = 0; h < heads; h++) {
                        if (chosen[i][h]) {
                            base.scaleHead(l, h, alpha);
                        }
                    }
                }
            }

            @Override
            public void afterCall(Step step, Probes in) {
                if (!step.isPrefill() || alpha == 1) {
                    return;
                }
                for (int i = 0; i < p.layers().size(); i++) {
                    FloatView picked = in.pairHeads(arm.base(), p.layers().get(i));
                    for (int h = 0; h < heads; h++) {
                        chosen[i][h] = picked.get(h) != 0;
                    }
                }
            }
        };
    }
}
