package io.sightline.intervention.iaf;

import io.sightline.engine.ArmControls;
import io.sightline.engine.ArmLogits;
import io.sightline.engine.FloatView;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.KeySpans;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.Probes;
import io.sightline.engine.RowControls;
import io.sightline.engine.RowRef;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.engine.VisionProbes;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import io.sightline.intervention.pai.Pai;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * IAF, the imbalanced-attention fix (Arif et al., "Fixing Imbalanced Attention to Mitigate In-Context Hallucination
 * of Large Vision-Language Model", arXiv 2501.12206, 2025, renamed PAINT in v3; code hasanar1f/PAINT). Once per image
 * it picks local patches (top local_ratio by CLS attention in ViT layer 0) and summary patches (CLS-attention
 * outliers at the projector's ViT layer); every step, in layers [start_layer, end_layer), the last query row's logits
 * a become a + alpha|a| on local keys and a + beta|a| on summary keys, then PAI's guidance against an image-free row.
 *
 * <p>Head modulation (paper v1; not in the released code, where every head gets alpha and beta): the paper's formula
 * is not retrievable, so this follows the reference's documented reconstruction: alpha and beta of head h in layer l
 * are scaled by its visual attention mass at the last prompt row of an unedited prefill over the layer's mean,
 * read from a PROBE row before the prefill; {@code head_modulation = false} gives the released code.
 * Exact on the ABI: per-head {@code amp} = max(alpha, beta) times the head's factor, and the float {@code amp_mask}
 * weights local keys alpha/max and summary keys beta/max. Other choices: beta = 0.4 and gamma = 1.1 (paper's
 * best and the reported result files; code defaults 0.3 and 2, CFG opt-in); layers are the code's [2, 32) of 32
 * scaled to this depth (calibration.json); top-k ties go to the lower patch index; k = int(local_ratio N); the
 * "spatial" token stream (dead flags in the code) is not implemented. Reference: onnx-models/tools/methods/iaf.py.
 */
public final class Iaf implements Intervention<Iaf.Params> {

    static final String PROBE = "probe";

    /**
     * @param alpha           amplification of local-patch keys
     * @param beta            amplification of summary-patch keys
     * @param localRatio      share of patches taken as local candidates (by ViT layer-0 CLS attention)
     * @param gamma           PAI's guidance strength; 1 = no guidance row
     * @param cutoff          PAI's plausibility cutoff
     * @param startLayer      first amplified decoder layer
     * @param endLayer        end (exclusive) of the amplified layers
     * @param summaryVitLayer ViT layer whose CLS-attention outliers are the summary patches
     * @param localVitLayer   ViT layer whose CLS attention ranks the local patches
     * @param headModulation  scale alpha and beta per head by its visual attention in an unedited prefill
     */
    public record Params(@Range(min = 0) double alpha, @Range(min = 0) double beta,
                         @Range(min = 0, max = 1) double localRatio, @Range(min = 0) double gamma,
                         @Range(min = 0, max = 1, minExclusive = true) double cutoff, @Range(min = 0) int startLayer,
                         @Range(min = 0) int endLayer, @Range(min = 0) int summaryVitLayer,
                         @Range(min = 0) int localVitLayer, boolean headModulation) {
        public Params {
            if (!(alpha >= 0 && Double.isFinite(alpha))) {
                throw new InvalidParamsException("alpha", "must be a finite number >= 0, was " + alpha);
            }
            if (!(beta >= 0 && Double.isFinite(beta))) {
                throw new InvalidParamsException("beta", "must be a finite number >= 0, was " + beta);
            }
            if (!(localRatio >= 0 && localRatio <= 1)) {
                throw new InvalidParamsException("local_ratio", "must be in [0, 1], was " + localRatio);
            }
            Pai.guidance(gamma, cutoff);
            Pai.layers(startLayer, endLayer);
            if (summaryVitLayer < 0) {
                throw new InvalidParamsException("summary_vit_layer", "must be >= 0, was " + summaryVitLayer);
            }
            if (localVitLayer < 0) {
                throw new InvalidParamsException("local_vit_layer", "must be >= 0, was " + localVitLayer);
            }
        }

        /** The larger factor: the per-head amp, the key sets' mask weights are relative to it. */
        double amp() {
            return Math.max(alpha, beta);
        }
    }

    private final ModelBundle model;

    public Iaf(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "iaf";
    }

    @Override
    public String paper() {
        return "Arif et al., Fixing Imbalanced Attention to Mitigate In-Context Hallucination of Large "
                + "Vision-Language Model (PAINT), arXiv 2501.12206, 2025";
    }

    @Override
    public String summary() {
        return "Amplifies the last query's attention logits on local and summary image patches chosen from the "
                + "ViT's CLS attention, per head, then applies PAI's guidance against an image-free row.";
    }

    @Override
    public Params defaults() {
        return new Params(0.7, 0.4, 0.25, 1.1, 0.1, calibrated("start_layer"), calibrated("end_layer"),
                calibrated("summary_vit_layer"), 0, true);
    }

    @Override
    public Footprint footprint(Params p) {
        Pai.checkDepth(model, p.endLayer());
        vitLayer("summary_vit_layer", p.summaryVitLayer());
        vitLayer("local_vit_layer", p.localVitLayer());
        List<Branch> branches = new ArrayList<>(Pai.guidanceRows(p.gamma()));
        Set<Slot> writes = EnumSet.of(Slot.LOGITS);
        Set<ProbeKind> reads = EnumSet.noneOf(ProbeKind.class);
        if (p.amp() > 0) {
            writes.add(Slot.AMP);
            writes.add(Slot.QUERY_ROWS);
            reads.add(ProbeKind.CLS_ATTN);
            if (p.headModulation()) {
                branches.add(new Branch(PROBE, Branch.InputEdit.SAME, Branch.Lifetime.PROBE));
                reads.add(ProbeKind.ATTN_LAST);
            }
        }
        return new Footprint(branches, writes, reads);
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        RowRef base = arm.base();
        int layers = model.dims().layers();
        int heads = model.dims().heads();
        return new Steerer() {
            private int[] local = new int[0];
            private int[] summary = new int[0];
            private final float[][] factor = ones(layers, heads);

            @Override
            public void afterVision(VisionProbes in) {
                float[] c0 = in.clsAttn(p.localVitLayer()).copy();
                float[] cs = in.clsAttn(p.summaryVitLayer()).copy();
                summary = top(cs, outliers(cs));
                BitSet inSummary = new BitSet();
                Arrays.stream(summary).forEach(inSummary::set);
                local = Arrays.stream(top(c0, (int) (p.localRatio() * c0.length))).filter(j -> !inSummary.get(j))
                        .toArray();
            }

            @Override
            public void afterCall(Step step, Probes in) {
                if (!step.isProbe()) {
                    return;
                }
                RowRef probe = arm.branch(PROBE);
                BitSet image = in.spans(probe).image();
                for (int l = 0; l < layers; l++) {
                    double[] mass = new double[heads];
                    double mean = 0;
                    for (int h = 0; h < heads; h++) {
                        FloatView a = in.attnLast(probe, l, h);
                        for (int s = image.nextSetBit(0); s >= 0; s = image.nextSetBit(s + 1)) {
                            mass[h] += a.get(s);
                        }
                        mean += mass[h] / heads;
                    }
                    for (int h = 0; h < heads; h++) {
                        factor[l][h] = mean > 0 ? (float) (mass[h] / mean) : 1f;
                    }
                }
            }

            @Override
            public void beforeCall(Step step, ArmControls out) {
                // the probe call holds only the unedited probe row
                if (step.isProbe() || p.amp() == 0) {
                    return;
                }
                KeySpans spans = out.spans(base);
                BitSet localKeys = keys(spans, local);
                BitSet summaryKeys = keys(spans, summary);
                RowControls row = Pai.lastQueryRow(out, base, step);
                for (int l = p.startLayer(); l < p.endLayer(); l++) {
                    for (int h = 0; h < heads; h++) {
                        float amp = (float) (p.amp() * factor[l][h]);
                        row.amplify(l, h, amp, localKeys, (float) (p.alpha() / p.amp()))
                                .amplify(l, h, amp, summaryKeys, (float) (p.beta() / p.amp()));
                    }
                }
            }

            @Override
            public void combine(Step step, ArmLogits io) {
                Pai.guide(io, p.gamma(), p.cutoff());
            }
        };
    }

    /** Patch j is key imageFrom + j. */
    private static BitSet keys(KeySpans spans, int[] patches) {
        BitSet out = new BitSet(spans.keys());
        for (int j : patches) {
            out.set(spans.imageFrom() + j);
        }
        return out;
    }

    /** How many values lie above Q3 + 1.5 IQR (numpy's linear percentiles). */
    static int outliers(float[] v) {
        double[] sorted = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            sorted[i] = v[i];
        }
        Arrays.sort(sorted);
        double q1 = percentile(sorted, 25);
        double q3 = percentile(sorted, 75);
        double fence = q3 + 1.5 * (q3 - q1);
        int n = 0;
        for (float x : v) {
            n += x > fence ? 1 : 0;
        }
        return n;
    }

    /** numpy.percentile with linear interpolation, including its lerp (from the upper end when t >= 0.5). */
    private static double percentile(double[] sorted, double q) {
        double at = q / 100 * (sorted.length - 1);
        int lo = (int) Math.floor(at);
        int hi = Math.min(lo + 1, sorted.length - 1);
        double t = at - lo;
        double a = sorted[lo];
        double b = sorted[hi];
        double diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }

    /** Indices of the k largest values, ascending; ties go to the lower index. */
    static int[] top(float[] v, int k) {
        return IntStream.range(0, v.length).boxed()
                .sorted((i, j) -> v[i] != v[j] ? Float.compare(v[j], v[i]) : Integer.compare(i, j))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
    }

    private static float[][] ones(int rows, int cols) {
        float[][] out = new float[rows][cols];
        for (float[] r : out) {
            Arrays.fill(r, 1f);
        }
        return out;
    }

    private void vitLayer(String name, int l) {
        if (l >= model.dims().visionLayers()) {
            throw new InvalidParamsException(name, "must be < " + model.dims().visionLayers()
                    + " (the exported ViT layers), was " + l);
        }
    }

    private int calibrated(String key) {
        return ((Number) model.calibrated("iaf", key)).intValue();
    }
}
