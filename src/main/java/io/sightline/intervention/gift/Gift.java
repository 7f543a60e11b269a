package io.sightline.intervention.gift;

import io.sightline.engine.ArmControls;
import io.sightline.engine.EngineFailureException;
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
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * GIFT, Gaze-shift guided cross-modal fusion enhancement (Qi et al., "Capturing Gaze Shifts for Guidance:
 * Cross-Modal Fusion Enhancement for VLM Hallucination Mitigation", ICML 2026, arXiv 2510.22067; code
 * amazon-science/GIFT @ e20b8a9). A prefill of the unedited prompt gives a saliency map over the image from the
 * positive jumps of visual attention while the question's content words are read; then in every forward, in the
 * enhancement layers, the last query row's most visual heads multiply visual attention by w_j = exp(alpha s_j) and
 * its most question-focused heads scale question attention by the resulting ratio r, keeping the fusion balanced.
 *
 * <p>Through the ABI: the saliency prefill is a {@link Branch.Lifetime#PROBE} row (a call before the prefill, as
 * the code's extra prefill) reading {@code attn_heads} at the saliency layer; the head choice, r and the
 * reweighting are the in-graph {@code focus} op on the same row, layer and call as the reference, restricted to the
 * last prompt row in the prefill (row_mask). Reference: onnx-models/tools/methods/gift.py.
 *
 * <p>Deviations from the paper and the official code:
 * <ul>
 *   <li>Content words: the code tags them with spaCy (NOUN, PROPN, VERB, ADJ, ADV, NUM); this closed vocabulary
 *       uses a fixed lexicon of the tags spaCy gives its words (content-words.txt next to this class, copied from
 *       the reference), matched on the tokens of the question.</li>
 *   <li>Saliency layer and enhancement layers: the paper's rules (largest total gaze shift; visual/question
 *       attention trend), computed for this model by calibration.json (gift.saliency_layer, enhance_layers); the
 *       code fixes them per model.</li>
 *   <li>No content word or a constant saliency map: no enhancement (the code averages an empty tensor: NaN).</li>
 * </ul>
 * No-op: alpha = 0 (w = 1, r = 1).
 */
public final class Gift implements Intervention<Gift.Params> {

    static final String SALIENCY = "saliency";

    /**
     * @param alpha          strength: w_j = exp(alpha s_j) on the salient image tokens
     * @param saliencyLayer  layer whose prefill attention gives the saliency map
     * @param enhanceLayers  layers whose last query row is enhanced
     * @param headFraction   share of the heads enhanced (top floor(H * head_fraction) by visual / question mass)
     */
    public record Params(@Range(min = 0) double alpha, @Range(min = 0) int saliencyLayer, List<Integer> enhanceLayers,
                         @Range(min = 0, max = 1, minExclusive = true) double headFraction) {
        public Params {
            if (!(alpha >= 0 && Double.isFinite(alpha))) {
                throw new InvalidParamsException("alpha", "must be a finite number >= 0, was " + alpha);
            }
            if (saliencyLayer < 0) {
                throw new InvalidParamsException("saliency_layer", "must be >= 0, was " + saliencyLayer);
            }
            enhanceLayers = layers(enhanceLayers);
            if (!(headFraction > 0 && headFraction <= 1)) {
                throw new InvalidParamsException("head_fraction", "must be in (0, 1], was " + headFraction);
            }
        }

        /** JSON arrays arrive as lists of any Number: integers >= 0, distinct. */
        private static List<Integer> layers(List<?> values) {
            if (values == null) {
                throw new InvalidParamsException("enhance_layers", "must be a list of layer indices");
            }
            List<Integer> out = new ArrayList<>();
            for (Object v : values) {
                if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.intValue() < 0) {
                    throw new InvalidParamsException("enhance_layers", "must hold integer layer indices >= 0, had " + v);
                }
                if (out.contains(n.intValue())) {
                    throw new InvalidParamsException("enhance_layers", "lists layer " + n.intValue() + " twice");
                }
                out.add(n.intValue());
            }
            return List.copyOf(out);
        }
    }

    private final ModelBundle model;
    private final Set<String> content;

    public Gift(ModelBundle model) {
        this.model = model;
        this.content = contentWords();
    }

    private static Set<String> contentWords() {
        Set<String> words = new HashSet<>();
        try (InputStream in = Gift.class.getResourceAsStream("content-words.txt")) {
            if (in == null) {
                throw new EngineFailureException("gift: content-words.txt is missing from the classpath");
            }
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines()
                    .filter(line -> !line.startsWith("#"))
                    .forEach(line -> words.addAll(Arrays.asList(line.trim().split("\\s+"))));
        } catch (IOException e) {
            throw new EngineFailureException("gift: cannot read content-words.txt: " + e.getMessage());
        }
        words.remove("");
        return Set.copyOf(words);
    }

    @Override
    public String name() {
        return "gift";
    }

    @Override
    public String paper() {
        return "Qi et al., Capturing Gaze Shifts for Guidance: Cross-Modal Fusion Enhancement for VLM Hallucination "
                + "Mitigation, ICML 2026";
    }

    @Override
    public String summary() {
        return "Reweights the most visual heads' image attention by a saliency map from the question's gaze shifts, "
                + "and the most question-focused heads' attention by the same overall ratio.";
    }

    @Override
    public Params defaults() {
        return new Params(5.0, ((Number) model.calibrated("gift", "saliency_layer")).intValue(),
                Params.layers((List<?>) model.calibrated("gift", "enhance_layers")), 0.5);
    }

    @Override
    public Footprint footprint(Params p) {
        int layers = model.dims().layers();
        if (p.saliencyLayer() >= layers) {
            throw new InvalidParamsException("saliency_layer", "must be < " + layers + ", was " + p.saliencyLayer());
        }
        for (int l : p.enhanceLayers()) {
            if (l >= layers) {
                throw new InvalidParamsException("enhance_layers", "must be < " + layers + ", had " + l);
            }
        }
        if (heads(p) < 1) {
            throw new InvalidParamsException("head_fraction", "selects no head of " + model.dims().heads());
        }
        return new Footprint(List.of(new Branch(SALIENCY, Branch.InputEdit.SAME, Branch.Lifetime.PROBE)),
                Set.of(Slot.FOCUS, Slot.QUERY_ROWS, Slot.PROBE_LAYER), Set.of(ProbeKind.ATTN_HEADS));
    }

    private int heads(Params p) {
        return (int) Math.floor(model.dims().heads() * p.headFraction());
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        int k = heads(p);
        RowRef base = arm.base();
        RowRef probe = arm.branch(SALIENCY);
        List<String> question = arm.questionTokens(probe);
        return new Steerer() {
            private float[] logw;      // [N] alpha * s_j per image token; null: no enhancement

            @Override
            public void beforeCall(Step step, ArmControls out) {
                if (step.isProbe()) {
                    out.probeLayer(p.saliencyLayer());
                    return;
                }
                if (logw == null) {
                    return;
                }
                KeySpans ks = out.spans(base);
                float[] keyLogw = new float[step.keys()];
                System.arraycopy(logw, 0, keyLogw, ks.imageFrom(), logw.length);
                RowControls row = out.row(base);
                for (int l : p.enhanceLayers()) {
                    row.focus(l, k, keyLogw, ks.image(), ks.question());
                }
                if (step.isPrefill()) {
                    BitSet last = new BitSet();
                    last.set(step.queries() - 1);
                    row.onlyQueryRows(last);
                }
            }

            @Override
            public void afterCall(Step step, Probes in) {
                if (!step.isProbe() || p.alpha() == 0) {
                    return;
                }
                KeySpans ks = in.spans(probe);
                List<Integer> rows = new ArrayList<>();           // content-word keys = their query rows (P = 0)
                for (int i = 0; i < question.size(); i++) {
                    if (content.contains(question.get(i))) {
                        rows.add(ks.questionFrom() + i);
                    }
                }
                double[] s = saliency(in, probe, rows, ks.imageFrom(), ks.imageTo() - ks.imageFrom(), k);
                if (s != null) {
                    logw = new float[s.length];
                    for (int j = 0; j < s.length; j++) {
                        logw[j] = (float) (p.alpha() * s[j]);
                    }
                }
            }
        };
    }

    /**
     * The saliency map s [N] in [0, 1] from the gaze shifts D[h,i,j] = max(A[h,i,j] - A[h,i-1,j], 0) of content rows
     * i over image keys j: mean over the k heads with the largest total shift and the rows, clamped to mean +- 3
     * unbiased std, min-max scaled. Null without content rows or image, or when the map is constant.
     */
    private double[] saliency(Probes in, RowRef r, List<Integer> rows, int v0, int n, int k) {
        if (rows.isEmpty() || n == 0) {
            return null;
        }
        int heads = model.dims().heads();
        double[][] d = new double[heads][n];                      // per head, D summed over the rows
        double[] score = new double[heads];
        for (int h = 0; h < heads; h++) {
            for (int i : rows) {
                FloatView cur = in.attnHeads(r, h, i);
                FloatView prev = in.attnHeads(r, h, i - 1);
                for (int j = 0; j < n; j++) {
                    double shift = Math.max(cur.get(v0 + j) - prev.get(v0 + j), 0);
                    d[h][j] += shift;
                    score[h] += shift;
                }
            }
        }
        double[] m = new double[n];
        for (int h : topHeads(score, k)) {
            for (int j = 0; j < n; j++) {
                m[j] += d[h][j] / ((double) k * rows.size());
            }
        }
        double mu = Arrays.stream(m).average().orElse(0);
        double sd = Math.sqrt(Arrays.stream(m).map(x -> (x - mu) * (x - mu)).sum() / (n - 1));
        double lo = mu - 3 * sd;
        double hi = mu + 3 * sd;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            m[j] = Math.min(Math.max(m[j], lo), hi);
            min = Math.min(min, m[j]);
            max = Math.max(max, m[j]);
        }
        if (max == min) {
            return null;
        }
        for (int j = 0; j < n; j++) {
            m[j] = (m[j] - min) / (max - min);
        }
        return m;
    }

    /** The k heads with the largest score; ties go to the lower head (as the graph's top-k and the reference). */
    private static int[] topHeads(double[] score, int k) {
        Integer[] order = new Integer[score.length];
        for (int h = 0; h < order.length; h++) {
            order[h] = h;
        }
        Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
        return Arrays.stream(order, 0, k).mapToInt(Integer::intValue).toArray();
    }
}
