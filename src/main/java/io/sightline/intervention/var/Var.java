package io.sightline.intervention.var;

import io.sightline.engine.ArmControls;
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
import java.util.BitSet;
import java.util.List;
import java.util.Set;

/**
 * VAR, Visual Attention Redistribution (Kang, Kim, Kim and Kim, "See What You Are Told: Visual Attention Sink in
 * Large Multimodal Models", ICLR 2025; code seilk/VisAttnSink @ 98e62d6). Prompt tokens whose residual input carries
 * a massive activation on the model's sink dimensions (phi > tau) are sinks of that layer; in every forward, heads
 * whose row looks at the image (visual mass >= summ) without being dominated by visual sinks (visual non-sink
 * share >= rho) move the fraction p of their attention on all sinks onto the non-sink image tokens, in proportion.
 *
 * <p>Through the ABI: the sinks come from {@code sink_score} of a probe call of the unedited prompt before the
 * prefill (a {@link Branch.Lifetime#PROBE} row), since the prefill already redistributes; the gate and the move are
 * the in-graph {@code redist} op, decided on the same row, layer and call as the reference. Prefill edits only the
 * text rows after the image (row_mask), decode the new row. Reference: onnx-models/tools/methods/var.py.
 *
 * <p>Deviations from the paper and the official code:
 * <ul>
 *   <li>rho and p are the paper's (minimum visual non-sink ratio, fraction moved); the code's yml rho 0.5, p 0.6
 *       (fraction kept) are rho 0.5, p 0.4 (VisAttnSink issue #5). The graph gates on the sink share, so it gets
 *       1 - rho.</li>
 *   <li>Layers: the code's layers 2..31 of 32 scaled to this depth, and tau for this model's phi distribution, both
 *       from calibration.json (var.start_layer, end_layer, tau). The last layer is excluded (paper); the released
 *       code edits it too: {@code include_last_layer = true}.</li>
 *   <li>phi > tau strictly (code; paper >=). Layers without a visual sink are left alone; per-request state (the
 *       code never resets its class-level stash).</li>
 *   <li>ABI: sink scores are measured on the unedited prompt. The reference measures a later VAR layer's input after
 *       the earlier VAR layers edited the text rows after the image, so a text token after the image whose phi
 *       crosses tau only because of those edits is classed differently here; image tokens and everything before
 *       them are exact (their rows are never edited). On the goldens the sink sets agree.</li>
 *   <li>On the shipped model the calibrated tau finds no sink on the sample scenes, so VAR is plain decoding there
 *       (goldens var-1..4); var-5 lowers tau to exercise the redistribution.</li>
 * </ul>
 * No-op: p = 0.
 */
public final class Var implements Intervention<Var.Params> {

    static final String SINKS = "sinks";

    /**
     * @param tau              sink threshold on phi
     * @param rho              minimum visual non-sink share of a head's visual attention (paper's rho)
     * @param p                fraction of the attention on sinks that is moved (paper's p)
     * @param summ             minimum visual attention mass of a head's row
     * @param startLayer       first VAR layer
     * @param endLayer         end (exclusive) of the VAR layers; the last layer is excluded (paper)
     * @param includeLastLayer true: every layer from startLayer on, as the released code does
     */
    public record Params(double tau, @Range(min = 0, max = 1) double rho, @Range(min = 0, max = 1) double p,
                         @Range(min = 0, max = 1) double summ, @Range(min = 0) int startLayer,
                         @Range(min = 0) int endLayer, boolean includeLastLayer) {
        public Params {
            if (!Double.isFinite(tau)) {
                throw new InvalidParamsException("tau", "must be a finite number, was " + tau);
            }
            if (!(rho >= 0 && rho <= 1)) {
                throw new InvalidParamsException("rho", "must be in [0, 1], was " + rho);
            }
            if (!(p >= 0 && p <= 1)) {
                throw new InvalidParamsException("p", "must be in [0, 1], was " + p);
            }
            if (!(summ >= 0 && summ <= 1)) {
                throw new InvalidParamsException("summ", "must be in [0, 1], was " + summ);
            }
            if (startLayer < 0) {
                throw new InvalidParamsException("start_layer", "must be >= 0, was " + startLayer);
            }
            if (endLayer < startLayer) {
                throw new InvalidParamsException("end_layer", "must be >= start_layer (" + startLayer + "), was "
                        + endLayer);
            }
        }
    }

    private final ModelBundle model;

    public Var(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "var";
    }

    @Override
    public String paper() {
        return "Kang, Kim, Kim and Kim, See What You Are Told: Visual Attention Sink in Large Multimodal Models, "
                + "ICLR 2025";
    }

    @Override
    public String summary() {
        return "Heads that look at the image move part of their attention on sink tokens (massive activations) onto "
                + "the other image tokens.";
    }

    @Override
    public Params defaults() {
        return new Params(number("tau").doubleValue(), 0.5, 0.4, 0.2, number("start_layer").intValue(),
                number("end_layer").intValue(), false);
    }

    private Number number(String key) {
        return (Number) model.calibrated("var", key);
    }

    @Override
    public Footprint footprint(Params p) {
        int layers = model.dims().layers();
        if (p.endLayer() > layers) {
            throw new InvalidParamsException("end_layer", "must be <= " + layers + " (the model's layers), was "
                    + p.endLayer());
        }
        if (p.startLayer() >= layers) {
            throw new InvalidParamsException("start_layer", "must be < " + layers + ", was " + p.startLayer());
        }
        return new Footprint(List.of(new Branch(SINKS, Branch.InputEdit.SAME, Branch.Lifetime.PROBE)),
                Set.of(Slot.REDIST, Slot.QUERY_ROWS), Set.of(ProbeKind.SINK_SCORE));
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        int heads = model.dims().heads();
        int end = p.includeLastLayer() ? model.dims().layers() : p.endLayer();
        RowRef base = arm.base();
        RowRef probe = arm.branch(SINKS);
        return new Steerer() {
            // per layer, the sink tokens as prompt positions (0 = the row's first real key); empty outside VAR layers
            private final BitSet[] sinks = new BitSet[model.dims().layers()];

            @Override
            public void afterCall(Step step, Probes in) {
                if (!step.isProbe()) {
                    return;
                }
                KeySpans k = in.spans(probe);
                for (int l = p.startLayer(); l < end; l++) {
                    FloatView phi = in.sinkScore(probe, l);                       // [T], query t = key t (P = 0)
                    sinks[l] = new BitSet();
                    for (int t = k.padding(); t < k.promptEnd(); t++) {
                        if (phi.get(t) > p.tau()) {
                            sinks[l].set(t - k.padding());
                        }
                    }
                }
            }

            @Override
            public void beforeCall(Step step, ArmControls out) {
                if (step.isProbe() || p.p() == 0) {
                    return;
                }
                KeySpans k = out.spans(base);
                BitSet visual = k.image();
                RowControls row = null;
                for (int l = p.startLayer(); l < end; l++) {
                    BitSet sink = new BitSet();
                    sinks[l].stream().forEach(s -> sink.set(s + k.padding()));
                    if (!sink.intersects(visual)) {
                        continue;                                                 // no visual sink: layer untouched
                    }
                    BitSet targets = (BitSet) visual.clone();
                    targets.andNot(sink);
                    row = out.row(base);
                    for (int h = 0; h < heads; h++) {
                        // the graph gates on the visual sink share <= its rho: 1 - the paper's non-sink ratio
                        row.redistribute(l, h, (float) p.p(), (float) p.summ(), (float) (1 - p.rho()), visual, sink,
                                targets);
                    }
                }
                if (row != null && step.isPrefill()) {
                    BitSet afterImage = new BitSet();
                    afterImage.set(k.imageTo(), step.queries());                  // query t = key t when P = 0
                    row.onlyQueryRows(afterImage);
                }
            }
        };
    }
}
