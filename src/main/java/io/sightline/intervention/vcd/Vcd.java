package io.sightline.intervention.vcd;

import io.sightline.engine.ArmLogits;
import io.sightline.engine.ArmVisionControls;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.engine.sampling.SplitMix64;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Contrast;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Set;

/**
 * VCD, Visual Contrastive Decoding (Leng, Zhang, Chen, Li, Lu, Miao, Bing, "Mitigating Object Hallucinations in
 * Large Vision-Language Models through Visual Contrastive Decoding", CVPR 2024; code DAMO-NLP-SG/VCD @ d6568ff).
 * Each step decodes the clean image and a diffusion-noised copy as two rows of one batch and emits from
 * (1 + α) l_clean - α l_noised, restricted to tokens with l_clean >= max(l_clean) + ln β.
 *
 * <p>The noised row is an {@link Branch.InputEdit#OWN_IMAGE} branch whose normalised pixels are edited once per
 * request, as vcd_add_noise.py does: x' = sqrt(ᾱ_T) x + sqrt(1 - ᾱ_T) n, ᾱ = cumprod(1 - β_t),
 * β_t = sigmoid(linspace(-6, 6, 1000)) (0.005 - 1e-5) + 1e-5. Reference: onnx-models/tools/methods/vcd.py.
 *
 * <p>Deviations, all shared with the reference: the noise n is the portable SplitMix64 Box-Muller stream seeded with
 * {@code noise_seed} (C,H,W row-major), not torch.randn under the global seed, so that Java and Python draw the same
 * noise; the schedule is computed in double (official: float32). Greedy decoding takes the argmax of the contrasted
 * logits (the official patch replaces only {@code sample}, so greedy silently runs without VCD there).
 * {@code pre_fix_cache_sharing} reproduces the official code before commit c637c85, where the noised row reused the
 * clean row's KV cache and the contrast vanished after the first token: the noised row then runs in the prefill only
 * and later steps contrast the clean row with itself (the cutoff still applies). The ABI expresses VCD exactly.
 * No-op: α = 0.
 */
public final class Vcd implements Intervention<Vcd.Params> {

    static final String NOISED = "noised";
    /** Length of the diffusion schedule (vcd_add_noise.py). */
    static final int NUM_STEPS = 1000;

    /**
     * @param alpha              α, weight of the contrast (cd_alpha)
     * @param beta               β, plausibility cutoff relative to the clean row's top probability (cd_beta)
     * @param noiseStep          T, 0-based index into the diffusion schedule
     * @param noiseSeed          seed of the portable noise stream
     * @param preFixCacheSharing the official code before c637c85: contrast on the first token only
     */
    public record Params(@Range(min = 0) double alpha, @Range(min = 0, max = 1, minExclusive = true) double beta,
                         @Range(min = 0, max = NUM_STEPS, maxExclusive = true) int noiseStep, long noiseSeed,
                         boolean preFixCacheSharing) {
        public Params {
            if (!(alpha >= 0)) {
                throw new InvalidParamsException("alpha", "must be >= 0, was " + alpha);
            }
            if (!(beta > 0 && beta <= 1)) {
                throw new InvalidParamsException("beta", "must be in (0, 1], was " + beta);
            }
            if (noiseStep < 0 || noiseStep >= NUM_STEPS) {
                throw new InvalidParamsException("noise_step", "must be in [0, " + NUM_STEPS + "), was " + noiseStep);
            }
        }
    }

    @Override
    public String name() {
        return "vcd";
    }

    @Override
    public String paper() {
        return "Leng, Zhang, Chen, Li, Lu, Miao, Bing, Mitigating Object Hallucinations in Large Vision-Language Models "
                + "through Visual Contrastive Decoding, CVPR 2024";
    }

    @Override
    public String summary() {
        return "Contrasts the clean-image row with a row seeing a diffusion-noised copy of the image, among the tokens "
                + "the clean row finds plausible.";
    }

    @Override
    public Params defaults() {
        // cd_alpha 1, cd_beta 0.1, noise_step 500: eval/object_hallucination_vqa_llava.py argparse
        return new Params(1.0, 0.1, 500, 0, false);
    }

    @Override
    public Footprint footprint(Params p) {
        Branch.Lifetime life = p.preFixCacheSharing() ? Branch.Lifetime.PREFILL_ONLY : Branch.Lifetime.WHOLE;
        return new Footprint(List.of(new Branch(NOISED, Branch.InputEdit.OWN_IMAGE, life)),
                Set.of(Slot.LOGITS, Slot.PIXELS), Set.of());
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        return new Steerer() {
            @Override
            public void beforeBranchImages(ArmVisionControls out) {
                FloatBuffer pixels = out.pixels(arm.branch(NOISED));     // [3,H,W]
                double[] c = noiseCoefficients(p.noiseStep());
                double[] n = new SplitMix64(p.noiseSeed()).gaussian(pixels.remaining());
                for (int i = 0; i < n.length; i++) {
                    pixels.put(i, (float) (c[0] * pixels.get(i) + c[1] * n[i]));
                }
            }

            @Override
            public void combine(Step step, ArmLogits io) {
                float[] clean = io.base();
                boolean shared = p.preFixCacheSharing() && !step.isPrefill();
                double[] noised = shared ? Contrast.widen(clean) : Contrast.widen(io.branch(NOISED).copy());
                Contrast.contrastLogits(clean, noised, p.alpha(), p.beta());
            }
        };
    }

    /**
     * {sqrt(ᾱ_T), sqrt(1 - ᾱ_T)} of the schedule, in double. linspace as start + i * step: torch's vectorised
     * linspace rounds some points one ulp apart (a fused multiply-add per 4-lane block), which moves ᾱ_T by about
     * an ulp for some T and leaves T = 500 bit-identical to methods/vcd.py noise_coefficients.
     */
    static double[] noiseCoefficients(int t) {
        double step = 12.0 / (NUM_STEPS - 1);
        double abar = 1;
        for (int i = 0; i <= t; i++) {
            double x = -6 + i * step;
            double beta = 1 / (1 + StrictMath.exp(-x)) * (0.5e-2 - 1e-5) + 1e-5;
            abar *= 1 - beta;
        }
        return new double[] {StrictMath.sqrt(abar), StrictMath.sqrt(1 - abar)};
    }
}
