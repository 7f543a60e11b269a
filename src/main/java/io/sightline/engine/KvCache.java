package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.FloatBuffer;

/**
 * The batch's KV cache, [L,2,B,H,P,Dh]. Two arena buffers take turns: the decoder reads {@code past_kv} from
 * one and writes {@code present_kv} as a pinned output into the other, so the cache is never copied except when
 * rows retire or join. The only engine object that keeps decoder output across steps (STYLE.md rule 2).
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

    /**
     * Keeps only the batch rows {@code keep} (ascending), in that order, without their first {@code drop} keys
     * (padding that no kept row attends to; see {@link RowPlan#unpad}).
     */
    void retain(int[] keep, int drop) {
        if (keep.length == rows && drop == 0) {
            return;
        }
        FloatBuffer from = arena.floats(NAMES[current], size(rows, keys));
        FloatBuffer to = arena.floats(NAMES[1 - current], size(keep.length, keys - drop));
        for (int i = 0; i < keep.length; i++) {
            copyRow(from, rows, keys, keep[i], to, keep.length, keys - drop, i);
        }
        rows = keep.length;
        keys -= drop;
        current = 1 - current;
    }

    /**
     * Appends the rows of {@code other} (a cache in another arena) after this cache's rows. Whichever side has
     * fewer keys is left-padded with zero keys up to the other's, so every row's keys still end at the last one;
     * the padded keys are masked by key_mask ({@link RowPlan#absorb} moves the rows' padding the same way).
     */
    void append(KvCache other) {
        int s = Math.max(keys, other.keys);
        int b = rows + other.rows;
        FloatBuffer mine = arena.floats(NAMES[current], size(rows, keys));
        FloatBuffer theirs = other.arena.floats(NAMES[other.current], size(other.rows, other.keys));
        FloatBuffer to = arena.floats(NAMES[1 - current], size(b, s));
        for (int i = 0; i < rows; i++) {
            copyRow(mine, rows, keys, i, to, b, s, i);
        }
        for (int i = 0; i < other.rows; i++) {
            copyRow(theirs, other.rows, other.keys, i, to, b, s, rows + i);
        }
        rows = b;
        keys = s;
        current = 1 - current;
    }

    /**
     * Copies row {@code from} of a [L,2,fromRows,H,fromKeys,Dh] cache to row {@code to} of a [L,2,toRows,H,toKeys,Dh]
     * one, aligned at the last key: zeros in front when {@code toKeys} is larger, the first keys dropped when smaller.
     */
    private void copyRow(FloatBuffer src, int fromRows, int fromKeys, int from, FloatBuffer dst, int toRows,
                         int toKeys, int to) {
        int dh = d.headDim();
        int shift = toKeys - fromKeys;
        int kept = Math.min(fromKeys, toKeys) * dh;
        for (int lk = 0; lk < 2 * d.layers(); lk++) {
            for (int h = 0; h < d.heads(); h++) {
                int srcAt = ((lk * fromRows + from) * d.heads() + h) * fromKeys * dh;
                int dstAt = ((lk * toRows + to) * d.heads() + h) * toKeys * dh;
                if (shift > 0) {
                    dst.put(dstAt, new float[shift * dh]);
                    dst.put(dstAt + shift * dh, src, srcAt, kept);
                } else {
                    dst.put(dstAt, src, srcAt - shift * dh, kept);
                }
            }
        }
    }
}
