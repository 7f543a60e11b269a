package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The vision graph's control inputs for one call, neutral until written (onnx-models/README.md "vision.onnx"). */
public final class VisionControls implements AutoCloseable {

    // ABI input names, kept in sync with onnx-models/tools/abi.py VISION_INPUTS
    static final String PATCH_SCALE = "patch_scale", MIX = "mix", MIX_ALT = "mix_alt", PROBE_LAYER = "probe_layer";

    final ModelDims d;
    final int rows;
    final FloatBuffer patchScale; // [B,N]
    final FloatBuffer mix;        // [B,Lv,Hv]
    final FloatBuffer mixAlt;     // [B,Lv,Hv,N+1,N+1]
    private final LongBuffer probeLayer; // []
    private String probeLayerWriter;
    private final Map<Integer, EnumMap<Slot, String>> writers = new HashMap<>();
    private final Map<String, OnnxTensor> tensors = new LinkedHashMap<>();

    private VisionControls(ModelDims d, int rows, RequestArena arena) {
        this.d = d;
        this.rows = rows;
        int n = d.imageTokens();
        patchScale = arena.floats("vision." + PATCH_SCALE, (long) rows * n);
        for (int i = 0; i < patchScale.limit(); i++) {
            patchScale.put(i, 1f);
        }
        mix = zero(arena.floats("vision." + MIX, (long) rows * d.visionLayers() * d.visionHeads()));
        mixAlt = zero(arena.floats("vision." + MIX_ALT, (long) rows * d.visionLayers() * d.visionHeads() * (n + 1) * (n + 1)));
        probeLayer = arena.longs("vision." + PROBE_LAYER, 1);
        // abi.py neutral_vision_inputs probes the last exported layer
        probeLayer.put(0, d.visionLayers() - 1);
    }

    public static VisionControls neutral(ModelDims d, int rows, RequestArena arena) {
        return new VisionControls(d, rows, arena);
    }

    /** Writes vision row {@code v} on behalf of {@code writer}. */
    public VisionRowControls row(int v, String writer) {
        return row(v, writer, EnumSet.allOf(Slot.class));
    }

    /** As {@link #row(int, String)}, refusing slots outside {@code declared} (the writer's footprint). */
    VisionRowControls row(int v, String writer, Set<Slot> declared) {
        if (v < 0 || v >= rows) {
            throw new IllegalArgumentException("vision row " + v + " outside 0.." + (rows - 1));
        }
        return new VisionRowControls(this, v, writer, declared);
    }

    /** Selects the ViT layer returned in {@code vision_attn}; one value per call. */
    public void probeLayer(int l, String writer) {
        checkLayer(l);
        if (probeLayerWriter != null && probeLayer.get(0) != l) {
            throw new ControlConflictException("vision probe_layer set to " + probeLayer.get(0) + " by "
                    + probeLayerWriter + " and to " + l + " by " + writer);
        }
        probeLayerWriter = writer;
        probeLayer.put(0, l);
    }

    public int probeLayer() {
        return (int) probeLayer.get(0);
    }

    void claim(int v, Slot slot, String writer) {
        String prev = writers.computeIfAbsent(v, k -> new EnumMap<>(Slot.class)).putIfAbsent(slot, writer);
        if (prev != null && !prev.equals(writer) && !slot.stackable()) {
            throw new ControlConflictException("slot " + slot + " of vision row " + v + " written by " + prev + " and " + writer);
        }
    }

    void checkLayer(int l) {
        if (l < 0 || l >= d.visionLayers()) {
            throw new InvalidParamsException("vision.layer", "must be in 0.." + (d.visionLayers() - 1) + ", was " + l);
        }
    }

    /** Tensors by ABI input name (pixel_values excluded); {@link #close()} frees them. */
    public Map<String, OnnxTensor> tensors(OrtEnvironment env) throws OrtException {
        if (tensors.isEmpty()) {
            long n = d.imageTokens();
            long lv = d.visionLayers();
            long hv = d.visionHeads();
            tensors.put(PATCH_SCALE, OnnxTensor.createTensor(env, patchScale, new long[] {rows, n}));
            tensors.put(MIX, OnnxTensor.createTensor(env, mix, new long[] {rows, lv, hv}));
            tensors.put(MIX_ALT, OnnxTensor.createTensor(env, mixAlt, new long[] {rows, lv, hv, n + 1, n + 1}));
            tensors.put(PROBE_LAYER, OnnxTensor.createTensor(env, probeLayer, new long[0]));
        }
        return tensors;
    }

    private static FloatBuffer zero(FloatBuffer b) {
        for (int i = 0; i < b.limit(); i++) {
            b.put(i, 0f);
        }
        return b;
    }

    @Override
    public void close() {
        tensors.values().forEach(OnnxTensor::close);
        tensors.clear();
    }
}
