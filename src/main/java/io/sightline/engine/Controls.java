package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
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

    /** The control tensors by ABI input name, backed by the arena's buffers; {@link #close()} frees them. */
    public Map<String, OnnxTensor> tensors(OrtEnvironment env) throws OrtException {
        if (tensors.isEmpty()) {
            long b = rows;
            long l = d.layers();
            long h = d.heads();
            long s = keys;
            put(env, ROW_MASK, rowMask, b, queries);
            put(env, VISUAL_MASK, visualMask, b, s);
            put(env, ATTN_BIAS, attnBias, b, l, h, s);
            put(env, AMP, amp, b, l, h);
            put(env, AMP_MASK, ampMask, b, l, s);
            put(env, MIX, mix, b, l, h);
            tensors.put(MIX_MODE, OnnxTensor.createTensor(env, mixMode, new long[] {b}));
            put(env, MIX_ALT, mixAlt, b, l, h, s);
            tensors.put(MIX_PERM, OnnxTensor.createTensor(env, mixPerm, new long[] {b, s}));
            put(env, REDIST, redist, b, l, h);
            put(env, REDIST_GATE, redistGate, b, l, 2);
            put(env, SINK_MASK, sinkMask, b, l, s);
            put(env, TARGET_MASK, targetMask, b, l, s);
            put(env, FOCUS_LOGW, focusLogw, b, l, s);
            tensors.put(FOCUS_K, OnnxTensor.createTensor(env, focusK, new long[] {b, l}));
            put(env, QUERY_MASK, queryMask, b, l, s);
            put(env, HEAD_SCALE, headScale, b, l, h);
            tensors.put(PAIR_ROW, OnnxTensor.createTensor(env, pairRow, new long[] {b}));
            put(env, PAIR_ALPHA, pairAlpha, b, l);
            tensors.put(PROBE_LAYER, OnnxTensor.createTensor(env, probeLayer, new long[0]));
        }
        return tensors;
    }

    private void put(OrtEnvironment env, String name, FloatBuffer buf, long... shape) throws OrtException {
        tensors.put(name, OnnxTensor.createTensor(env, buf, shape));
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
