package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Outputs of one decoder call, written by ONNX Runtime straight into arena buffers (pinned outputs): logits, the
 * new KV cache (adopted by {@link KvCache}) and the probes some footprint reads. A probe the call's graph does not
 * have reads as zeros: only pair_heads, on a graph without the pair edit, where it is zero by definition (see
 * {@code Generator#decoderFor}). Views handed out die with it.
 */
final class DecoderOutput implements Probes, AutoCloseable {

    private final ModelDims d;
    private final RowPlan plan;
    private final int rows;
    private final int queries;
    private final int keys;
    private final FloatBuffer logits;                       // [B,V]
    private final Map<ProbeKind, FloatBuffer> probes = new EnumMap<>(ProbeKind.class);
    private final Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
    private boolean open = true;

    DecoderOutput(OrtEnvironment env, ModelDims d, RowPlan plan, Step step, Set<ProbeKind> wanted,
                  Set<String> graphOutputs, RequestArena arena, OnnxTensor presentKv) throws OrtException {
        this.d = d;
        this.plan = plan;
        this.rows = plan.rows();
        this.queries = step.queries();
        this.keys = step.keys();
        long b = rows;
        long l = d.layers();
        long h = d.heads();
        long t = queries;
        long s = keys;
        logits = pin(env, arena, "logits", b, d.vocab());
        pinned.put("present_kv", presentKv);
        for (ProbeKind k : wanted) {
            long[] shape = switch (k) {
                case ATTN_LAST -> new long[] {b, l, h, s};
                case ATTN_QUERY -> new long[] {b, l, t, s};
                case ATTN_HEADS -> new long[] {b, h, t, s};
                case HEAD_OUT -> new long[] {b, l, h, d.headDim()};
                case SINK_SCORE -> new long[] {b, l, t};
                case PAIR_HEADS -> new long[] {b, l, h};
                case CLS_ATTN, VISION_ATTN -> throw new IllegalArgumentException(k + " is a vision probe");
            };
            probes.put(k, graphOutputs.contains(k.output()) ? pin(env, arena, k.output(), shape)
                    : zeros(arena, k.output(), shape));
        }
    }

    private FloatBuffer pin(OrtEnvironment env, RequestArena arena, String name, long... shape) throws OrtException {
        long n = 1;
        for (long x : shape) {
            n *= x;
        }
        FloatBuffer buf = arena.floats("out." + name, n);
        pinned.put(name, OnnxTensor.createTensor(env, buf, shape));
        return buf;
    }

    private static FloatBuffer zeros(RequestArena arena, String name, long... shape) {
        FloatBuffer buf = arena.floats("out." + name, Arrays.stream(shape).reduce(1, (x, y) -> x * y));
        for (int i = 0; i < buf.limit(); i++) {
            buf.put(i, 0f);
        }
        return buf;
    }

    /** Output name -> pinned tensor, for OrtSession.run. */
    Map<String, OnnxTensor> pinned() {
        return pinned;
    }

    /** Copy of batch row b's logits [V]. */
    float[] logits(int b) {
        float[] out = new float[d.vocab()];
        logits.get(b * d.vocab(), out);
        return out;
    }

    FloatView logitsView(int b) {
        return new BufferView(logits, b * d.vocab(), d.vocab(), this::isOpen);
    }

    private boolean isOpen() {
        return open;
    }

    private FloatView view(ProbeKind k, int offset, int size) {
        FloatBuffer buf = probes.get(k);
        if (buf == null) {
            throw new IllegalStateException(k.output() + " was not requested: declare " + k + " in the footprint's reads");
        }
        return new BufferView(buf, offset, size, this::isOpen);
    }

    @Override
    public FloatView attnLast(RowRef r, int l, int h) {
        return view(ProbeKind.ATTN_LAST, ((plan.index(r) * d.layers() + l) * d.heads() + h) * keys, keys);
    }

    @Override
    public FloatView attnQuery(RowRef r, int l, int t) {
        return view(ProbeKind.ATTN_QUERY, ((plan.index(r) * d.layers() + l) * queries + t) * keys, keys);
    }

    @Override
    public FloatView attnHeads(RowRef r, int h, int t) {
        return view(ProbeKind.ATTN_HEADS, ((plan.index(r) * d.heads() + h) * queries + t) * keys, keys);
    }

    @Override
    public FloatView headOut(RowRef r, int l, int h) {
        return view(ProbeKind.HEAD_OUT, ((plan.index(r) * d.layers() + l) * d.heads() + h) * d.headDim(), d.headDim());
    }

    @Override
    public FloatView sinkScore(RowRef r, int l) {
        return view(ProbeKind.SINK_SCORE, (plan.index(r) * d.layers() + l) * queries, queries);
    }

    @Override
    public FloatView pairHeads(RowRef r, int l) {
        return view(ProbeKind.PAIR_HEADS, (plan.index(r) * d.layers() + l) * d.heads(), d.heads());
    }

    @Override
    public KeySpans spans(RowRef r) {
        return plan.spans(r, keys);
    }

    /** Closes the pinned tensors except present_kv, which the caller's KvCache turn owns. */
    @Override
    public void close() {
        if (!open) {
            return;
        }
        open = false;
        pinned.forEach((name, t) -> {
            if (!name.equals("present_kv")) {
                t.close();
            }
        });
    }
}
