package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Outputs of one vision call in arena buffers: image embeddings [Bv,N,D] and the requested probes. */
final class VisionOutput implements AutoCloseable {

    private final ModelDims d;
    final FloatBuffer imageEmbeds;                          // [Bv,N,D]
    private final Map<ProbeKind, FloatBuffer> probes = new EnumMap<>(ProbeKind.class);
    private final Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
    private boolean open = true;

    /** @param imageEmbeds where image_embeds [rows,N,D] goes: it outlives this object (the prefill splices it) */
    VisionOutput(OrtEnvironment env, ModelDims d, int rows, Set<ProbeKind> wanted, RequestArena arena,
                 FloatBuffer imageEmbeds) throws OrtException {
        this.d = d;
        long n = d.imageTokens();
        this.imageEmbeds = imageEmbeds;
        pinned.put("image_embeds", OnnxTensor.createTensor(env, imageEmbeds, new long[] {rows, n, d.hidden()}));
        if (wanted.contains(ProbeKind.CLS_ATTN)) {
            probes.put(ProbeKind.CLS_ATTN, pin(env, arena, "cls_attn", rows, d.visionLayers(), n));
        }
        if (wanted.contains(ProbeKind.VISION_ATTN)) {
            probes.put(ProbeKind.VISION_ATTN, pin(env, arena, "vision_attn", rows, d.visionHeads(), n + 1, n + 1));
        }
    }

    private FloatBuffer pin(OrtEnvironment env, RequestArena arena, String name, long... shape) throws OrtException {
        long count = 1;
        for (long x : shape) {
            count *= x;
        }
        FloatBuffer buf = arena.floats("vision.out." + name, count);
        pinned.put(name, OnnxTensor.createTensor(env, buf, shape));
        return buf;
    }

    Map<String, OnnxTensor> pinned() {
        return pinned;
    }

    /** Probe views of vision row v. */
    VisionProbes probes(int v) {
        int n = d.imageTokens();
        return new VisionProbes() {
            @Override
            public FloatView clsAttn(int l) {
                return view(ProbeKind.CLS_ATTN, (v * d.visionLayers() + l) * n, n);
            }

            @Override
            public FloatView visionAttn(int h, int q) {
                return view(ProbeKind.VISION_ATTN, ((v * d.visionHeads() + h) * (n + 1) + q) * (n + 1), n + 1);
            }
        };
    }

    private FloatView view(ProbeKind k, int offset, int size) {
        FloatBuffer buf = probes.get(k);
        if (buf == null) {
            throw new IllegalStateException(k.output() + " was not requested: declare " + k + " in the footprint's reads");
        }
        return new BufferView(buf, offset, size, () -> open);
    }

    @Override
    public void close() {
        if (open) {
            open = false;
            pinned.values().forEach(OnnxTensor::close);
        }
    }
}
