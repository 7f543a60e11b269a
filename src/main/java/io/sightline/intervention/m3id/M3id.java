package io.sightline.intervention.m3id;

import io.sightline.engine.ArmLogits;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Contrast;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.util.List;
import java.util.Set;

/**
 * M3ID, Multi-Modal Mutual-Information Decoding (Favero et al., "Multi-Modal Hallucination Control by Visual
 * Information Grounding", CVPR 2024). Each step decodes the prompt with and without the image as two rows of one
 * batch; when the image row is unsure, its log-probabilities are pushed away from the image-free row's by
 * (1 - γ_t)/γ_t, γ_t = exp(-λ t), a weight that grows as the answer lengthens and the image's pull fades.
 *
 * <p>No official code: λ = 0.02 and t counted from 1 follow the AvisC reimplementation; the gate threshold is not
 * in the paper and comes from the model's calibration.json (m3id.threshold); {@code beta} adds AvisC's plausibility
 * cutoff and {@code space = logits, t_origin = 0} gives RITUAL's variant. Reference: onnx-models/tools/methods/m3id.py.
 */
public final class M3id implements Intervention<M3id.Params> {

    static final String TEXT_ONLY = "text-only";

    /** The space the rows are contrasted in. */
    public enum Space { LOG_SOFTMAX, LOGITS }

    /**
     * @param lam       λ, decay of γ_t = exp(-λ t)
     * @param threshold correct only steps where the image row's top probability is below this
     * @param gate      false: correct every step (AvisC's ungated variant)
     * @param tOrigin   t of the first generated token
     * @param space     log_softmax (paper) or raw logits (RITUAL)
     * @param beta      plausibility cutoff on the image row, null for none (paper)
     */
    public record Params(@Range(min = 0) double lam, @Range(min = 0, max = 1, minExclusive = true) double threshold,
                         boolean gate, @Range(min = 0) int tOrigin, Space space,
                         @Range(min = 0, max = 1, minExclusive = true) Double beta) {
        public Params {
            if (!(lam >= 0)) {
                throw new InvalidParamsException("lam", "must be >= 0, was " + lam);
            }
            if (!(threshold > 0 && threshold <= 1)) {
                throw new InvalidParamsException("threshold", "must be in (0, 1], was " + threshold);
            }
            if (tOrigin < 0) {
                throw new InvalidParamsException("t_origin", "must be >= 0, was " + tOrigin);
            }
            if (space == null) {
                throw new InvalidParamsException("space", "must be log_softmax or logits");
            }
            if (beta != null && !(beta > 0 && beta <= 1)) {
                throw new InvalidParamsException("beta", "must be in (0, 1] or null, was " + beta);
            }
        }
    }

    private final ModelBundle model;

    public M3id(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "m3id";
    }

    @Override
    public String paper() {
        return "Favero et al., Multi-Modal Hallucination Control by Visual Information Grounding, CVPR 2024";
    }

    @Override
    public String summary() {
        return "Contrasts the image row with an image-free row, more strongly as the answer grows, on steps where the "
                + "image row is unsure.";
    }

    @Override
    public Params defaults() {
        return new Params(0.02, ((Number) model.calibrated("m3id", "threshold")).doubleValue(), true, 1,
                Space.LOG_SOFTMAX, null);
    }

    @Override
    public Footprint footprint(Params p) {
        return new Footprint(List.of(new Branch(TEXT_ONLY, Branch.InputEdit.TEXT_ONLY, Branch.Lifetime.WHOLE)),
                Set.of(Slot.LOGITS), Set.of());
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        return new Steerer() {
            @Override
            public void combine(Step step, ArmLogits io) {
                float[] out = io.base();
                double[] imageLogProbs = Contrast.logSoftmax(out);
                double[] c = p.space() == Space.LOG_SOFTMAX ? imageLogProbs : Contrast.widen(out);
                double[] u = p.space() == Space.LOG_SOFTMAX ? Contrast.logSoftmax(io.branch(TEXT_ONLY))
                        : Contrast.widen(io.branch(TEXT_ONLY).copy());
                double confidence = Double.NEGATIVE_INFINITY;
                for (double v : imageLogProbs) {
                    confidence = Math.max(confidence, v);
                }
                boolean sure = p.gate() && confidence >= Math.log(p.threshold());
                double gamma = Math.exp(-p.lam() * (step.index() + p.tOrigin()));
                // c + w (c - u) = (1 + w) c - w u
                Contrast.difference(c, u, sure ? 0 : (1 - gamma) / gamma, out);
                if (p.beta() != null) {
                    Contrast.cutoff(c, p.beta(), out);
                }
            }
        };
    }
}
