package io.sightline.intervention.causalmm;

import io.sightline.engine.ArmControls;
import io.sightline.engine.ArmLogits;
import io.sightline.engine.ArmVisionControls;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.KeySpans;
import io.sightline.engine.MixMode;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.RowControls;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.engine.VisionProbes;
import io.sightline.engine.VisionRowControls;
import io.sightline.engine.sampling.SplitMix64;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Contrast;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * CausalMM (Zhou et al., "Mitigating Modality Prior-Induced Hallucinations in Multimodal Large Language Models via
 * Deciphering Attention Causality", ICLR 2025; code The-Martyr/CausalMM). Each step decodes the factual row and a
 * counterfactual row whose attention was replaced (ViT attention for the image tokens, or decoder attention), and
 * emits c = (1 + γ) l_factual - γ l_cf, cut to -inf where l_factual < max(l_factual) + ln(ε).
 *
 * <p>Vision level (default, cf_encoder.py): the per-head attention map [Hv,N+1,N+1] of the ViT layer that feeds the
 * projector (vision_attn) is made counterfactual (shuffle, random, uniform, reversed), resized bilinearly to the
 * patch grid, averaged over heads into a weight per patch, and the counterfactual row's image is the projector of the
 * patch features times those weights: exactly the ABI's patch_scale on an OWN_IMAGE branch. Language level (README
 * snippet) replaces post-softmax attention in every decoder layer and head of a SAME branch with the decoder mix;
 * multimodal runs both rows and emits (1 + 2γ) l_f - γ l_cf_vision - γ l_cf_language (causalmm_mm.py).
 *
 * <p>Deviations (reference onnx-models/tools/methods/causalmm.py): the random counterfactuals draw from the portable
 * SplitMix64 seeded with cf_seed (vision; language: cf_seed + 1) instead of torch's global RNG; no fp16 cast.
 * The paper runs the counterfactual row with its own KV cache; the official code reuses the factual cache, so from
 * the second token on l_cf = l_factual: kv_sharing_quirk = true reproduces it (the counterfactual rows run at the
 * prefill only). ABI limits, language level only: mix_alt and the mix modes act on one key vector per head and are
 * renormalised over each query's allowed keys, while the snippet fills 1/S (uniform) or U[0,1)/sum (random) over
 * all S keys and then zeroes future keys without renormalising. Decode calls (one query, no future key) are exact;
 * in the prefill every query row but the last gets the renormalised map (uniform: 1/(t+1) instead of 1/S; random:
 * the last query row's draws, so the stream stays in step with the reference's). reverse and reverse_and_normalize
 * are exact (mix modes 2 and 3). No-op: gamma = 0.
 */
public final class CausalMm implements Intervention<CausalMm.Params> {

    static final String CF_VISION = "cf-vision";
    static final String CF_LANGUAGE = "cf-language";

    /** Which attention the counterfactual rows replace. */
    public enum Level { VISION, LANGUAGE, MULTIMODAL }

    /** The counterfactual ViT attention map (cf_encoder.edit_attention). */
    public enum VisionCf { SHUFFLE, RANDOM, UNIFORM, REVERSED }

    /** The counterfactual decoder attention (README "LLM Counterfactual Attention"). */
    public enum LlmCf { UNIFORM, RANDOM, REVERSE, REVERSE_AND_NORMALIZE }

    /**
     * @param gamma          γ, weight of the counterfactual contrast
     * @param epsilon        ε, plausibility cutoff on the factual row's raw logits (0: none)
     * @param level          vision, language or multimodal counterfactual
     * @param visionCf       counterfactual ViT attention
     * @param llmCf          counterfactual decoder attention
     * @param cfSeed         seed of the random counterfactuals
     * @param kvSharingQuirk the official code's shared KV cache: the contrast acts on the first token only
     */
    public record Params(@Range(min = 0) double gamma, @Range(min = 0, max = 1) double epsilon, Level level,
                         VisionCf visionCf, LlmCf llmCf, long cfSeed, boolean kvSharingQuirk) {
        public Params {
            if (!(gamma >= 0) || Double.isInfinite(gamma)) {
                throw new InvalidParamsException("gamma", "must be a finite number >= 0, was " + gamma);
            }
            if (!(epsilon >= 0 && epsilon <= 1)) {
                throw new InvalidParamsException("epsilon", "must be in [0, 1], was " + epsilon);
            }
            if (level == null) {
                throw new InvalidParamsException("level", "must be vision, language or multimodal");
            }
            if (visionCf == null) {
                throw new InvalidParamsException("vision_cf", "must be shuffle, random, uniform or reversed");
            }
            if (llmCf == null) {
                throw new InvalidParamsException("llm_cf", "must be uniform, random, reverse or reverse_and_normalize");
            }
        }

        boolean vision() {
            return level != Level.LANGUAGE;
        }

        boolean language() {
            return level != Level.VISION;
        }
    }

    private final ModelBundle model;

    public CausalMm(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "causalmm";
    }

    @Override
    public String paper() {
        return "Zhou et al., Mitigating Modality Prior-Induced Hallucinations in Multimodal Large Language Models via "
                + "Deciphering Attention Causality, ICLR 2025";
    }

    @Override
    public String summary() {
        return "Contrasts the factual row with a row whose attention was made counterfactual (shuffled ViT attention "
                + "by default), keeping only tokens the factual row finds plausible.";
    }

    @Override
    public Params defaults() {
        return new Params(1.0, 0.6, Level.VISION, VisionCf.SHUFFLE, LlmCf.UNIFORM, 0, false);
    }

    @Override
    public Footprint footprint(Params p) {
        Branch.Lifetime life = p.kvSharingQuirk() ? Branch.Lifetime.PREFILL_ONLY : Branch.Lifetime.WHOLE;
        List<Branch> branches = new ArrayList<>();
        Set<Slot> writes = EnumSet.of(Slot.LOGITS);
        Set<ProbeKind> reads = EnumSet.noneOf(ProbeKind.class);
        if (p.vision()) {
            branches.add(new Branch(CF_VISION, Branch.InputEdit.OWN_IMAGE, life));
            writes.add(Slot.PATCH_SCALE);
            reads.add(ProbeKind.VISION_ATTN);
        }
        if (p.language()) {
            branches.add(new Branch(CF_LANGUAGE, Branch.InputEdit.SAME, life));
            writes.add(Slot.MIX);
        }
        return new Footprint(branches, writes, reads);
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        int vitLayers = model.dims().visionLayers();
        return new Steerer() {
            private float[] patchWeights;                                   // [N], null until the image is seen
            private final SplitMix64 languageRng = new SplitMix64(p.cfSeed() + 1);

            @Override
            public void beforeVision(ArmVisionControls out) {
                if (p.vision()) {
                    // LLaVA's mm_vision_select_layer: the last ViT layer run feeds the projector
                    out.probeLayer(vitLayers - 1);
                }
            }

            @Override
            public void afterVision(VisionProbes in) {
                if (p.vision()) {
                    patchWeights = patchWeights(counterfactual(attention(in), p.visionCf(), p.cfSeed()),
                            model.grid());
                }
            }

            @Override
            public void beforeBranchImages(ArmVisionControls out) {
                if (patchWeights == null) {
                    return;
                }
                VisionRowControls cf = out.row(arm.branch(CF_VISION));
                for (int n = 0; n < patchWeights.length; n++) {
                    cf.scalePatch(n, patchWeights[n]);
                }
            }

            @Override
            public void beforeCall(Step step, ArmControls out) {
                if (!p.language() || (p.kvSharingQuirk() && !step.isPrefill())) {
                    return;
                }
                RowControls cf = out.row(arm.branch(CF_LANGUAGE));
                KeySpans keys = out.spans(arm.branch(CF_LANGUAGE));
                MixMode mode = switch (p.llmCf()) {
                    case UNIFORM -> MixMode.UNIFORM;
                    case RANDOM -> MixMode.GIVEN;
                    case REVERSE -> MixMode.REVERSE;
                    case REVERSE_AND_NORMALIZE -> MixMode.REVERSE_NORM;
                };
                int real = keys.keys() - keys.padding();
                int queries = step.queries() - Math.max(0, keys.padding() - step.past());
                for (int l = 0; l < model.dims().layers(); l++) {
                    for (int h = 0; h < model.dims().heads(); h++) {
                        float[] alt = mode == MixMode.GIVEN ? randomKeys(keys, real, queries) : null;
                        cf.mix(l, h, 1f, mode, alt);
                    }
                }
            }

            /** The reference's draws for one layer and head (query rows, then keys); the last query row's, at real keys. */
            private float[] randomKeys(KeySpans keys, int real, int queries) {
                float[] alt = new float[keys.keys()];
                for (int t = 0; t < queries; t++) {
                    for (int s = 0; s < real; s++) {
                        alt[keys.padding() + s] = (float) languageRng.nextDouble();
                    }
                }
                return alt;
            }

            @Override
            public void combine(Step step, ArmLogits io) {
                float[] out = io.base();
                double[] factual = Contrast.widen(out);
                // the official shared cache: after the prefill the counterfactual rows saw the factual keys
                boolean shared = p.kvSharingQuirk() && !step.isPrefill();
                double[] cf = shared ? factual : Contrast.widen(io.branch(p.vision() ? CF_VISION : CF_LANGUAGE).copy());
                double weight = p.gamma();
                if (p.level() == Level.MULTIMODAL) {
                    // (1 + 2γ) l_f - γ l_v - γ l_l = (1 + 2γ) l_f - 2γ mean(l_v, l_l)
                    double[] language = shared ? factual : Contrast.widen(io.branch(CF_LANGUAGE).copy());
                    for (int v = 0; v < cf.length; v++) {
                        cf[v] = (cf[v] + language[v]) / 2;
                    }
                    weight = 2 * p.gamma();
                }
                Contrast.difference(factual, cf, weight, out);
                Contrast.cutoff(factual, p.epsilon(), out);
            }
        };
    }

    /** vision_attn [Hv,N+1,N+1], CLS first. */
    private float[][] attention(VisionProbes in) {
        int hv = model.dims().visionHeads();
        int n1 = model.dims().imageTokens() + 1;
        float[][] a = new float[hv][n1 * n1];
        for (int h = 0; h < hv; h++) {
            for (int q = 0; q < n1; q++) {
                System.arraycopy(in.visionAttn(h, q).copy(), 0, a[h], q * n1, n1);
            }
        }
        return a;
    }

    /** cf_encoder.edit_attention on a [Hv][n*n] map; the random kinds draw from SplitMix64(seed), heads in order. */
    static float[][] counterfactual(float[][] a, VisionCf kind, long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        float[][] out = new float[a.length][];
        for (int h = 0; h < a.length; h++) {
            float[] m = a[h];
            float[] o = new float[m.length];
            switch (kind) {
                case SHUFFLE -> {
                    int[] perm = permutation(m.length, rng);
                    for (int i = 0; i < m.length; i++) {
                        o[i] = m[perm[i]];
                    }
                }
                case RANDOM -> {
                    for (int i = 0; i < m.length; i++) {
                        o[i] = (float) (2.0 * rng.nextDouble());
                    }
                }
                case UNIFORM -> {
                    double sum = 0;
                    for (float v : m) {
                        sum += v;
                    }
                    Arrays.fill(o, (float) (sum / m.length));
                }
                case REVERSED -> {
                    float max = Float.NEGATIVE_INFINITY;
                    for (float v : m) {
                        max = Math.max(max, v);
                    }
                    for (int i = 0; i < m.length; i++) {
                        o[i] = max - m[i];
                    }
                }
            }
            out[h] = o;
        }
        return out;
    }

    /** Fisher-Yates as methods/common.py SplitMix64.permutation: i = n-1 down to 1, j = floor(u (i + 1)). */
    static int[] permutation(int n, SplitMix64 rng) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = (int) (rng.nextDouble() * (i + 1));
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return perm;
    }

    /**
     * Each head's square map resized to the patch grid (bilinear, align_corners = false, no antialias, as
     * torch.nn.functional.interpolate), averaged over heads, row-major: the weight of each patch [N].
     */
    static float[] patchWeights(float[][] maps, int[] grid) {
        int side = (int) Math.round(Math.sqrt(maps[0].length));
        int rows = grid[0];
        int cols = grid[1];
        float[] w = new float[rows * cols];
        for (float[] m : maps) {
            for (int y = 0; y < rows; y++) {
                Tap ty = Tap.of(y, side, rows);
                for (int x = 0; x < cols; x++) {
                    Tap tx = Tap.of(x, side, cols);
                    float v = ty.w0 * (tx.w0 * m[ty.i0 * side + tx.i0] + tx.w1 * m[ty.i0 * side + tx.i1])
                            + ty.w1 * (tx.w0 * m[ty.i1 * side + tx.i0] + tx.w1 * m[ty.i1 * side + tx.i1]);
                    w[y * cols + x] += v;
                }
            }
        }
        for (int n = 0; n < w.length; n++) {
            w[n] /= maps.length;
        }
        return w;
    }

    /** The two source indices and weights of one output index (torch area_pixel_compute_source_index). */
    private record Tap(int i0, int i1, float w0, float w1) {
        static Tap of(int dst, int in, int out) {
            float scale = (float) in / out;
            float src = Math.max(0f, (dst + 0.5f) * scale - 0.5f);
            int i0 = (int) src;
            int i1 = i0 + (i0 < in - 1 ? 1 : 0);
            float w1 = src - i0;
            return new Tap(i0, i1, 1f - w1, w1);
        }
    }
}
