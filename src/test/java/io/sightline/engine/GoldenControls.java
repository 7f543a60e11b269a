package io.sightline.engine;

import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Steerer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A golden case's {@code controls} entries as an intervention: it writes them through {@link RowControls} and
 * {@link VisionRowControls} exactly as onnx-models/README.md "Golden files" specifies (and as goldens.py
 * apply_controls does), and records what the parity test compares: raw logits per step and prefill probes.
 * Keep in sync with onnx-models/tools/goldens.py.
 */
final class GoldenControls implements Intervention<GoldenControls.Params> {

    static final String TEXT_ONLY = "text-only";

    record Params() {
    }

    /** What one run saw: per step the raw logits of the main row, and the prefill probes. */
    static final class Record {
        final List<float[]> logits = new ArrayList<>();
        final Map<String, Object> probes = new HashMap<>();
    }

    private final List<Map<String, Object>> entries;
    private final Record record;

    GoldenControls(List<Map<String, Object>> entries, Record record) {
        this.entries = entries;
        this.record = record;
    }

    @Override
    public String name() {
        return "golden";
    }

    @Override
    public String paper() {
        return "";
    }

    @Override
    public String summary() {
        return "test intervention";
    }

    @Override
    public Params defaults() {
        return new Params();
    }

    private boolean has(String slot) {
        return entries.stream().anyMatch(e -> e.get("slot").equals(slot));
    }

    @Override
    public Footprint footprint(Params p) {
        List<Branch> branches = has("pair")
                ? List.of(new Branch(TEXT_ONLY, Branch.InputEdit.TEXT_ONLY, Branch.Lifetime.WHOLE)) : List.of();
        Set<Slot> writes = EnumSet.of(Slot.LOGITS);
        Set<ProbeKind> reads = EnumSet.of(ProbeKind.CLS_ATTN, ProbeKind.SINK_SCORE, ProbeKind.ATTN_LAST,
                ProbeKind.HEAD_OUT);
        for (Map<String, Object> e : entries) {
            switch ((String) e.get("slot")) {
                case "attn_bias" -> writes.add(Slot.ATTN_BIAS);
                case "amp" -> writes.add(Slot.AMP);
                case "focus" -> writes.add(Slot.FOCUS);
                case "redist" -> writes.add(Slot.REDIST);
                case "mix" -> writes.add(Slot.MIX);
                case "head_scale" -> writes.add(Slot.HEAD_SCALE);
                case "pair" -> {
                    writes.add(Slot.PAIR);
                    reads.add(ProbeKind.PAIR_HEADS);
                }
                case "row_mask" -> writes.add(Slot.QUERY_ROWS);
                case "patch_scale" -> writes.add(Slot.PATCH_SCALE);
                case "vision_mix" -> writes.add(Slot.VISION_MIX);
                case "probe_layer" -> {
                    writes.add(Slot.PROBE_LAYER);
                    reads.add(ProbeKind.ATTN_HEADS);
                }
                default -> throw new IllegalArgumentException("unknown golden slot " + e.get("slot"));
            }
        }
        return new Footprint(branches, writes, reads);
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        ModelDims d = arm.model().dims();
        return new Steerer() {
            @Override
            public void beforeVision(ArmVisionControls out) {
                int n = d.imageTokens();
                for (Map<String, Object> e : entries) {
                    if (e.get("slot").equals("patch_scale")) {
                        for (int j = 0; j < n; j++) {
                            out.image().scalePatch(j, num(e, "value"));
                        }
                    } else if (e.get("slot").equals("vision_mix")) {
                        float[] alt = new float[(n + 1) * (n + 1)];
                        Arrays.fill(alt, 1.0f / (n + 1));
                        for (int l : sel(e.get("layers"), d.visionLayers())) {
                            for (int h : sel(e.get("heads"), d.visionHeads())) {
                                out.image().mix(l, h, num(e, "value"), alt);
                            }
                        }
                    }
                }
            }

            @Override
            public void afterVision(VisionProbes in) {
                List<float[]> cls = new ArrayList<>();
                for (int l = 0; l < d.visionLayers(); l++) {
                    cls.add(in.clsAttn(l).copy());
                }
                record.probes.put("cls_attn", cls);
            }

            @Override
            public void beforeCall(Step step, ArmControls out) {
                RowRef main = arm.base();
                KeySpans sp = out.spans(main);
                RowControls row = out.row(main);
                for (Map<String, Object> e : entries) {
                    List<Integer> layers = sel(e.getOrDefault("layers", "all"), d.layers());
                    List<Integer> heads = sel(e.getOrDefault("heads", "all"), d.heads());
                    switch ((String) e.get("slot")) {
                        case "attn_bias" -> layers.forEach(l -> heads.forEach(
                                h -> row.addBias(l, h, keys(e.get("keys"), sp), num(e, "value"))));
                        case "amp" -> layers.forEach(l -> heads.forEach(
                                h -> row.amplify(l, h, num(e, "value"), keys(e.get("keys"), sp))));
                        case "focus" -> {
                            int n = d.imageTokens();
                            float[] logw = new float[sp.keys()];
                            for (int j = 0; j < n; j++) {
                                // goldens.py: alpha * arange(n) / (n - 1) in float32
                                logw[sp.imageFrom() + j] = (float) (num(e, "alpha") * j) / (float) (n - 1);
                            }
                            int k = ((Number) e.get("k")).intValue();
                            layers.forEach(l -> row.focus(l, k, logw, sp.image(), keys(e.get("queries"), sp)));
                        }
                        case "redist" -> layers.forEach(l -> heads.forEach(h -> row.redistribute(l, h,
                                num(e, "value"), num(e, "summ"), num(e, "rho"), sp.image(), keys(e.get("sinks"), sp),
                                keys(e.get("targets"), sp))));
                        case "mix" -> {
                            MixMode mode = MixMode.valueOf(((String) e.get("mode")).toUpperCase());
                            float[] alt = null;
                            if (mode == MixMode.GIVEN) {
                                alt = new float[sp.keys()];
                                BitSet k = keys(e.get("alt_keys"), sp);
                                for (int s = k.nextSetBit(0); s >= 0; s = k.nextSetBit(s + 1)) {
                                    alt[s] = 1f;
                                }
                            }
                            float[] given = alt;
                            layers.forEach(l -> heads.forEach(h -> row.mix(l, h, num(e, "value"), mode, given)));
                            if (mode == MixMode.PERMUTE) {
                                row.mixPermutation(IntStream.range(0, sp.keys()).mapToLong(s -> sp.keys() - 1 - s).toArray());
                            }
                        }
                        case "head_scale" -> layers.forEach(l -> heads.forEach(h -> row.scaleHead(l, h, num(e, "value"))));
                        case "pair" -> layers.forEach(l -> row.pairWith(arm.branch(TEXT_ONLY), l, num(e, "alpha")));
                        case "row_mask" -> {
                            BitSet last = new BitSet();
                            last.set(step.queries() - 1);
                            row.onlyQueryRows(last);
                        }
                        case "probe_layer" -> out.probeLayer(((Number) e.get("value")).intValue());
                        default -> {
                            // vision slots are written in beforeVision
                        }
                    }
                }
            }

            @Override
            public void afterCall(Step step, Probes in) {
                if (!step.isPrefill()) {
                    return;
                }
                RowRef main = arm.base();
                List<float[]> sink = new ArrayList<>();
                List<List<float[]>> attnLast = new ArrayList<>();
                List<List<float[]>> headOut = new ArrayList<>();
                List<float[]> pair = new ArrayList<>();
                for (int l = 0; l < d.layers(); l++) {
                    sink.add(in.sinkScore(main, l).copy());
                    List<float[]> al = new ArrayList<>();
                    List<float[]> ho = new ArrayList<>();
                    for (int h = 0; h < d.heads(); h++) {
                        al.add(in.attnLast(main, l, h).copy());
                        ho.add(in.headOut(main, l, h).copy());
                    }
                    attnLast.add(al);
                    headOut.add(ho);
                    if (has("pair")) {
                        pair.add(in.pairHeads(main, l).copy());
                    }
                }
                record.probes.put("sink_score", sink);
                record.probes.put("attn_last", attnLast);
                record.probes.put("head_out", headOut);
                if (has("pair")) {
                    record.probes.put("pair_heads", pair);
                }
                if (has("probe_layer")) {
                    List<List<float[]>> heads = new ArrayList<>();
                    for (int h = 0; h < d.heads(); h++) {
                        List<float[]> rows = new ArrayList<>();
                        for (int t = 0; t < step.queries(); t++) {
                            rows.add(in.attnHeads(main, h, t).copy());
                        }
                        heads.add(rows);
                    }
                    record.probes.put("attn_heads", heads);
                }
            }

            @Override
            public void combine(Step step, ArmLogits io) {
                record.logits.add(io.base().clone());
            }
        };
    }

    private static float num(Map<String, Object> e, String field) {
        return ((Number) e.get(field)).floatValue();
    }

    private static List<Integer> sel(Object v, int n) {
        if ("all".equals(v)) {
            return IntStream.range(0, n).boxed().toList();
        }
        return ((List<?>) v).stream().map(x -> ((Number) x).intValue()).toList();
    }

    /** The README's key sets over this call's keys. */
    private static BitSet keys(Object name, KeySpans sp) {
        return switch ((String) name) {
            case "image" -> sp.image();
            case "text" -> sp.text();
            case "bos" -> sp.bos();
            case "question" -> sp.question();
            case "all" -> sp.all();
            default -> throw new IllegalArgumentException("unknown key set " + name);
        };
    }
}
