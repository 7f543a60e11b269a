package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.Buffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.ToIntFunction;

/**
 * The decoder's control inputs for one call, every slot at its identity value until a {@link RowControls}
 * writes it (STYLE.md §2.2; onnx-models/README.md "decoder.onnx" lists the neutral values). Rebuilt per step
 * because S grows; the buffers come from the request's {@link RequestArena}, so rebuilding does not allocate.
 */
public final class Controls implements AutoCloseable {

    // ABI input names, kept in sync with onnx-models/tools/abi.py DECODER_INPUTS
    static final String ROW_MASK = "row_mask", VISUAL_MASK = "visual_mask", ATTN_BIAS = "attn_bias", AMP = "amp",
            AMP_MASK = "amp_mask", MIX = "mix", MIX_MODE = "mix_mode", MIX_ALT = "mix_alt", MIX_PERM = "mix_perm",
            REDIST = "redist", REDIST_GATE = "redist_gate", SINK_MASK = "sink_mask", TARGET_MASK = "target_mask",
            FOCUS_LOGW = "focus_logw", FOCUS_K = "focus_k", QUERY_MASK = "query_mask", HEAD_SCALE = "head_scale",
            PAIR_ROW = "pair_row", PAIR_ALPHA = "pair_alpha", PROBE_LAYER = "probe_layer";

    /** The inputs each decoder slot writes (a graph without them runs that slot at its neutral value). */
    private static final Map<Slot, List<String>> INPUTS = new EnumMap<>(Map.of(
            Slot.ATTN_BIAS, List.of(ATTN_BIAS), Slot.HEAD_SCALE, List.of(HEAD_SCALE), Slot.AMP, List.of(AMP, AMP_MASK),
            Slot.MIX, List.of(MIX, MIX_MODE, MIX_ALT, MIX_PERM),
            Slot.REDIST, List.of(VISUAL_MASK, REDIST, REDIST_GATE, SINK_MASK, TARGET_MASK),
            Slot.FOCUS, List.of(VISUAL_MASK, FOCUS_LOGW, FOCUS_K, QUERY_MASK), Slot.PAIR, List.of(PAIR_ROW, PAIR_ALPHA),
            Slot.QUERY_ROWS, List.of(ROW_MASK), Slot.PROBE_LAYER, List.of(PROBE_LAYER)));

    final ModelDims d;
    final int rows;
    final int queries;
    final int keys;
    private final ToIntFunction<RowRef> rowIndex;

    final FloatBuffer rowMask;      // [B,T]
    final FloatBuffer visualMask;   // [B,S]
    final FloatBuffer attnBias;     // [B,L,H,S]
    final FloatBuffer amp;          // [B,L,H]
    final FloatBuffer ampMask;      // [B,L,S]
    final FloatBuffer mix;          // [B,L,H]
    final LongBuffer mixMode;       // [B]
    final FloatBuffer mixAlt;       // [B,L,H,S]
    final LongBuffer mixPerm;       // [B,S]
    final FloatBuffer redist;       // [B,L,H]
    final FloatBuffer redistGate;   // [B,L,2]
    final FloatBuffer sinkMask;     // [B,L,S]
    final FloatBuffer targetMask;   // [B,L,S]
    final FloatBuffer focusLogw;    // [B,L,S]
    final LongBuffer focusK;        // [B,L]
    final FloatBuffer queryMask;    // [B,L,S]
    final FloatBuffer headScale;    // [B,L,H]
    final LongBuffer pairRow;       // [B]
    final FloatBuffer pairAlpha;    // [B,L]
    private final LongBuffer probeLayer; // []
    final BitSet mixModeSet = new BitSet();

    private final Map<Integer, EnumMap<Slot, String>> writers = new LinkedHashMap<>();
    private String probeLayerWriter;
    private final Map<String, OnnxTensor> tensors = new LinkedHashMap<>();

    private Controls(ModelDims d, int rows, int queries, int keys, RequestArena arena, ToIntFunction<RowRef> rowIndex) {
        this.d = d;
        this.rows = rows;
        this.queries = queries;
        this.keys = keys;
        this.rowIndex = rowIndex;
        int l = d.layers();
        int h = d.heads();
        rowMask = fill(arena.floats(ROW_MASK, (long) rows * queries), 1f);
        visualMask = fill(arena.floats(VISUAL_MASK, (long) rows * keys), 0f);
        attnBias = fill(arena.floats(ATTN_BIAS, (long) rows * l * h * keys), 0f);
        amp = fill(arena.floats(AMP, (long) rows * l * h), 0f);
        ampMask = fill(arena.floats(AMP_MASK, (long) rows * l * keys), 0f);
        mix = fill(arena.floats(MIX, (long) rows * l * h), 0f);
        mixMode = fill(arena.longs(MIX_MODE, rows), 0L);
        mixAlt = fill(arena.floats(MIX_ALT, (long) rows * l * h * keys), 0f);
        mixPerm = arena.longs(MIX_PERM, (long) rows * keys);
        for (int b = 0; b < rows; b++) {
            for (int s = 0; s < keys; s++) {
                mixPerm.put(b * keys + s, s);
            }
        }
        redist = fill(arena.floats(REDIST, (long) rows * l * h), 0f);
        redistGate = fill(arena.floats(REDIST_GATE, (long) rows * l * 2), 0f);
        sinkMask = fill(arena.floats(SINK_MASK, (long) rows * l * keys), 0f);
        targetMask = fill(arena.floats(TARGET_MASK, (long) rows * l * keys), 0f);
        focusLogw = fill(arena.floats(FOCUS_LOGW, (long) rows * l * keys), 0f);
        focusK = fill(arena.longs(FOCUS_K, (long) rows * l), 0L);
        queryMask = fill(arena.floats(QUERY_MASK, (long) rows * l * keys), 0f);
        headScale = fill(arena.floats(HEAD_SCALE, (long) rows * l * h), 1f);
        pairRow = fill(arena.longs(PAIR_ROW, rows), -1L);
        pairAlpha = fill(arena.floats(PAIR_ALPHA, (long) rows * l), 1f);
        probeLayer = fill(arena.longs(PROBE_LAYER, 1), 0L);
    }

    /**
     * Neutral controls for a call of {@code rows} rows, {@code queries} new positions and {@code keys} keys:
     * plain decoding exactly. {@code rowIndex} maps a request's rows to batch indices of this call.
     */
    public static Controls neutral(ModelDims d, int rows, int queries, int keys, RequestArena arena,
                                   ToIntFunction<RowRef> rowIndex) {
        return new Controls(d, rows, queries, keys, arena, rowIndex);
    }

    /** Writes to one row on behalf of {@code writer} (an intervention name, used in conflict messages). */
    public RowControls row(RowRef r, String writer) {
        return new RowControls(this, r, rowIndex.applyAsInt(r), writer, EnumSet.allOf(Slot.class));
    }

    /** As {@link #row(RowRef, String)}, refusing slots outside {@code declared} (the writer's footprint). */
    RowControls row(RowRef r, String writer, Set<Slot> declared) {
        return new RowControls(this, r, rowIndex.applyAsInt(r), writer, declared);
    }

    /** Selects the layer returned in {@code attn_heads}; one value per call. */
    public void probeLayer(int l, String writer) {
        checkLayer(l);
        if (probeLayerWriter != null && probeLayer.get(0) != l) {
            throw new ControlConflictException("probe_layer set to " + probeLayer.get(0) + " by " + probeLayerWriter
                    + " and to " + l + " by " + writer + " in the same call");
        }
        probeLayerWriter = writer;
        probeLayer.put(0, l);
    }

    public int probeLayer() {
        return (int) probeLayer.get(0);
    }

    int rowIndex(RowRef r) {
        return rowIndex.applyAsInt(r);
    }

    /** Claims {@code slot} of row {@code b} for {@code writer}; a second writer of an exclusive slot fails. */
    void claim(int b, Slot slot, String writer) {
        EnumMap<Slot, String> w = writers.computeIfAbsent(b, k -> new EnumMap<>(Slot.class));
        String prev = w.putIfAbsent(slot, writer);
        if (prev != null && !prev.equals(writer) && !slot.stackable()) {
            throw new ControlConflictException("slot " + slot + " of row " + b + " written by " + prev + " and " + writer);
        }
    }

    void checkLayer(int l) {
        if (l < 0 || l >= d.layers()) {
            throw new InvalidParamsException("layer", "must be in 0.." + (d.layers() - 1) + ", was " + l);
        }
    }

    void checkHead(int h) {
        if (h < 0 || h >= d.heads()) {
            throw new InvalidParamsException("head", "must be in 0.." + (d.heads() - 1) + ", was " + h);
        }
    }

    /**
     * ABI inputs some writer set in this call; every other input holds its neutral value, so a graph without it
     * computes the same.
     */
    Set<String> written() {
        Set<String> out = new TreeSet<>();
        writers.values().forEach(w -> w.keySet().forEach(slot -> out.addAll(INPUTS.getOrDefault(slot, List.of()))));
        if (probeLayerWriter != null) {
            out.add(PROBE_LAYER);
        }
        return out;
    }

    /** The control tensors by ABI input name, backed by the arena's buffers; {@link #close()} frees them. */
    public Map<String, OnnxTensor> tensors(OrtEnvironment env) throws OrtException {
        return tensors(env, Set.copyOf(OrtVlm.DECODER_INPUTS));
    }

    /**
     * The control tensors among {@code names} (a decoder graph's inputs), made only for those: a small graph's call
     * does not pay for tensors it does not take.
     */
    Map<String, OnnxTensor> tensors(OrtEnvironment env, Set<String> names) throws OrtException {
        long b = rows;
        long l = d.layers();
        long h = d.heads();
        long s = keys;
        put(env, names, ROW_MASK, rowMask, b, queries);
        put(env, names, VISUAL_MASK, visualMask, b, s);
        put(env, names, ATTN_BIAS, attnBias, b, l, h, s);
        put(env, names, AMP, amp, b, l, h);
        put(env, names, AMP_MASK, ampMask, b, l, s);
        put(env, names, MIX, mix, b, l, h);
        put(env, names, MIX_MODE, mixMode, b);
        put(env, names, MIX_ALT, mixAlt, b, l, h, s);
        put(env, names, MIX_PERM, mixPerm, b, s);
        put(env, names, REDIST, redist, b, l, h);
        put(env, names, REDIST_GATE, redistGate, b, l, 2);
        put(env, names, SINK_MASK, sinkMask, b, l, s);
        put(env, names, TARGET_MASK, targetMask, b, l, s);
        put(env, names, FOCUS_LOGW, focusLogw, b, l, s);
        put(env, names, FOCUS_K, focusK, b, l);
        put(env, names, QUERY_MASK, queryMask, b, l, s);
        put(env, names, HEAD_SCALE, headScale, b, l, h);
        put(env, names, PAIR_ROW, pairRow, b);
        put(env, names, PAIR_ALPHA, pairAlpha, b, l);
        put(env, names, PROBE_LAYER, probeLayer);
        Map<String, OnnxTensor> out = new LinkedHashMap<>(tensors);
        out.keySet().retainAll(names);
        return out;
    }

    private void put(OrtEnvironment env, Set<String> names, String name, Buffer buf, long... shape)
            throws OrtException {
        if (names.contains(name) && !tensors.containsKey(name)) {
            tensors.put(name, buf instanceof FloatBuffer f ? OnnxTensor.createTensor(env, f, shape)
                    : OnnxTensor.createTensor(env, (LongBuffer) buf, shape));
        }
    }

    private static FloatBuffer fill(FloatBuffer b, float v) {
        for (int i = 0; i < b.limit(); i++) {
            b.put(i, v);
        }
        return b;
    }

    private static LongBuffer fill(LongBuffer b, long v) {
        for (int i = 0; i < b.limit(); i++) {
            b.put(i, v);
        }
        return b;
    }

    @Override
    public void close() {
        tensors.values().forEach(OnnxTensor::close);
        tensors.clear();
    }
}
