package io.sightline.intervention.pai;

import io.sightline.engine.ArmControls;
import io.sightline.engine.ArmLogits;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.RowControls;
import io.sightline.engine.RowRef;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Contrast;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * PAI (Liu, Zheng, Chen, "Paying More Attention to Image: A Training-Free Method for Alleviating Hallucination in
 * LVLMs", ECCV 2024; code LALBJ/PAI). Every step, in layers [start_layer, end_layer), all heads, the last query row's
 * image-key logits a become a + alpha|a| before softmax; the logits are then guided away from an image-free row of
 * the same batch in log-probability space (gamma, with a plausibility cutoff on the image row).
 *
 * <p>The ABI expresses it exactly: {@code amp} with a 0/1 image mask and {@code row_mask} on the last query
 * (the last prompt token in the prefill, the new token in decode); the text-only row decodes the prompt without the
 * image token, left-padded, its positions from 0. Choices and deviations: layers are the code's [2, 32) of 32 scaled
 * to this model's depth (calibration.json); gamma = 1.1 (README, model_loader), not the eval scripts' argparse 2;
 * gamma = 1 skips the text-only row and returns the image row's log-probabilities, as CFG.py does. The code's quirk
 * of running the prefill without amplification under CFG is off by default (the paper amplifies every step) and
 * available as {@code first_token_skip}. Reference: onnx-models/tools/methods/pai.py.
 */
public final class Pai implements Intervention<Pai.Params> {

    /** The image-free row the guidance contrasts against (also IAF's). */
    public static final String TEXT_ONLY = "text-only";

    /**
     * @param alpha          amplification of image-key logits
     * @param gamma          guidance strength; 1 = no guidance row
     * @param cutoff         plausibility cutoff on the image row's probabilities, relative to its best token
     * @param startLayer     first amplified decoder layer
     * @param endLayer       end (exclusive) of the amplified layers
     * @param firstTokenSkip true: no amplification in the prefill (the official code's behaviour under CFG)
     */
    public record Params(@Range(min = 0) double alpha, @Range(min = 0) double gamma,
                         @Range(min = 0, max = 1, minExclusive = true) double cutoff, @Range(min = 0) int startLayer,
                         @Range(min = 0) int endLayer, boolean firstTokenSkip) {
        public Params {
            if (!(alpha >= 0 && Double.isFinite(alpha))) {
                throw new InvalidParamsException("alpha", "must be a finite number >= 0, was " + alpha);
            }
            guidance(gamma, cutoff);
            layers(startLayer, endLayer);
        }
    }

    private final ModelBundle model;

    public Pai(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "pai";
    }

    @Override
    public String paper() {
        return "Liu, Zheng, Chen, Paying More Attention to Image: A Training-Free Method for Alleviating "
                + "Hallucination in LVLMs, ECCV 2024";
    }

    @Override
    public String summary() {
        return "Amplifies the last query's attention logits on image tokens, then guides the logits away from an "
                + "image-free row in log-probability space.";
    }

    @Override
    public Params defaults() {
        return new Params(0.2, 1.1, 0.1, calibrated(model, "start_layer"),
                calibrated(model, "end_layer"), false);
    }

    @Override
    public Footprint footprint(Params p) {
        checkDepth(model, p.endLayer());
        Set<Slot> writes = EnumSet.of(Slot.LOGITS);
        if (p.alpha() > 0) {
            writes.add(Slot.AMP);
            writes.add(Slot.QUERY_ROWS);
        }
        return new Footprint(guidanceRows(p.gamma()), writes, Set.of());
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        RowRef base = arm.base();
        return new Steerer() {
            @Override
            public void beforeCall(Step step, ArmControls out) {
                if (p.alpha() == 0 || p.firstTokenSkip() && step.isPrefill()) {
                    return;
                }
                RowControls row = lastQueryRow(out, base, step);
                BitSet image = out.spans(base).image();
                for (int l = p.startLayer(); l < p.endLayer(); l++) {
                    for (int h = 0; h < model.dims().heads(); h++) {
                        row.amplify(l, h, (float) p.alpha(), image);
                    }
                }
            }

            @Override
            public void combine(Step step, ArmLogits io) {
                guide(io, p.gamma(), p.cutoff());
            }
        };
    }

    /** The controls of {@code row} restricted to the call's last query: PAI's and IAF's edits touch only it. */
    public static RowControls lastQueryRow(ArmControls out, RowRef row, Step step) {
        BitSet last = new BitSet(step.queries());
        last.set(step.queries() - 1);
        return out.row(row).onlyQueryRows(last);
    }

    /** The guidance's extra row: the image-free prompt, unless gamma = 1 makes it unnecessary. */
    public static List<Branch> guidanceRows(double gamma) {
        return gamma == 1 ? List.of() : List.of(new Branch(TEXT_ONLY, Branch.InputEdit.TEXT_ONLY, Branch.Lifetime.WHOLE));
    }

    /** The base row's logits guided against the text-only row (see {@link Contrast#guidance}). */
    public static void guide(ArmLogits io, double gamma, double cutoff) {
        Contrast.guidance(io.base(), gamma == 1 ? null : io.branch(TEXT_ONLY), gamma, cutoff);
    }

    /** Validation shared with IAF: the guidance parameters. */
    public static void guidance(double gamma, double cutoff) {
        if (!(gamma >= 0 && Double.isFinite(gamma))) {
            throw new InvalidParamsException("gamma", "must be a finite number >= 0, was " + gamma);
        }
        if (!(cutoff > 0 && cutoff <= 1)) {
            throw new InvalidParamsException("cutoff", "must be in (0, 1], was " + cutoff);
        }
    }

    /** Validation shared with IAF: a layer range [start, end) (the model's depth is checked by the footprint). */
    public static void layers(int start, int end) {
        if (start < 0) {
            throw new InvalidParamsException("start_layer", "must be >= 0, was " + start);
        }
        if (end < start) {
            throw new InvalidParamsException("end_layer", "must be >= start_layer (" + start + "), was " + end);
        }
    }

    /** The end of a layer range against the model's depth. */
    public static void checkDepth(ModelBundle model, int end) {
        if (end > model.dims().layers()) {
            throw new InvalidParamsException("end_layer", "must be <= " + model.dims().layers()
                    + " (the model's decoder layers), was " + end);
        }
    }

    private static int calibrated(ModelBundle model, String key) {
        return ((Number) model.calibrated("pai", key)).intValue();
    }
}
