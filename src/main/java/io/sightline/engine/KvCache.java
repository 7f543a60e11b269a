package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;

/**
 * The request's KV cache, [L,2,B,H,P,Dh]. Two arena buffers take turns: the decoder reads {@code past_kv} from
 * one and writes {@code present_kv} as a pinned output into the other, so the cache is never copied except when
 * rows retire. The only engine object that keeps decoder output across steps (STYLE.md rule 2).
 */
final class KvCache {

    private static final String[] NAMES = {"kv.a", "kv.b"};

    private final ModelDims d;
    private final RequestArena arena;
    private int current;      // index into NAMES of the buffer holding the cache
    private int rows;
    private int keys;         // P

    KvCache(ModelDims d, RequestArena arena, int rows) {
        this.d = d;
        this.arena = arena;
        this.rows = rows;
    }

    int keys() {
        return keys;
    }

    private long size(int b, int s) {
        return 2L * d.layers() * b * d.heads() * s * d.headDim();
    }

    private long[] shape(int b, int s) {
        return new long[] {d.layers(), 2, b, d.heads(), s, d.headDim()};
    }

    /** {@code past_kv} for the next call; close it after the call. */
    OnnxTensor past(OrtEnvironment env) throws OrtException {
        return OnnxTensor.createTensor(env, arena.floats(NAMES[current], size(rows, keys)), shape(rows, keys));
    }

    /** The pinned {@code present_kv} output of a call with {@code queries} new positions; close it after adopting. */
    OnnxTensor present(OrtEnvironment env, int queries) throws OrtException {
        int s = keys + queries;
        return OnnxTensor.createTensor(env, arena.floats(NAMES[1 - current], size(rows, s)), shape(rows, s));
    }

    /** The call wrote {@code present_kv}: it is the cache now. */
    void adopt(int queries) {
        current = 1 - current;
        keys += queries;
    }

    /** Keeps only the batch rows {@code keep} (ascending), in that order. */
    void retain(int[] keep) {
        if (keep.length == rows) {
            return;
        }
        FloatBuffer from = arena.floats(NAMES[current], size(rows, keys));
        FloatBuffer to = arena.floats(NAMES[1 - current], size(keep.length, keys));
        int block = d.heads() * keys * d.headDim();          // one row of one (layer, k|v)
        for (int lk = 0; lk < 2 * d.layers(); lk++) {
            for (int i = 0; i < keep.length; i++) {
                FloatBuffer src = from.duplicate();
                int at = (lk * rows + keep[i]) * block;
                src.position(at).limit(at + block);
                to.position((lk * keep.length + i) * block);
                to.put(src);
            }
        }
        rows = keep.length;
        current = 1 - current;
    }
}
