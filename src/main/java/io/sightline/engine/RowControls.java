package io.sightline.engine;

import java.util.BitSet;
import java.util.Set;

/**
 * Writes one row's controls. Stackable slots combine with other writers (bias adds, head scale multiplies);
 * exclusive slots accept one writer per row. Indices: {@code l} layer, {@code h} head, {@code s} key of this call.
 */
public final class RowControls {

    private final Controls c;
    private final RowRef ref;
    private final int b;
    private final String writer;
    private final Set<Slot> declared;

    RowControls(Controls c, RowRef ref, int b, String writer, Set<Slot> declared) {
        this.c = c;
        this.ref = ref;
        this.b = b;
        this.writer = writer;
        this.declared = declared;
    }

    public RowRef ref() {
        return ref;
    }

    /** ATTN_BIAS: adds {@code logw} to the attention logit of key s. */
    public RowControls addBias(int l, int h, int s, float logw) {
        head(l, h);
        claim(Slot.ATTN_BIAS);
        int i = lhs(l, h, key(s));
        c.attnBias.put(i, c.attnBias.get(i) + logw);
        return this;
    }

    /** ATTN_BIAS on every key of {@code keys}. */
    public RowControls addBias(int l, int h, BitSet keys, float logw) {
        for (int s = keys.nextSetBit(0); s >= 0; s = keys.nextSetBit(s + 1)) {
            addBias(l, h, s, logw);
        }
        return this;
    }

    /** HEAD_SCALE: multiplies head h's output at layer l. */
    public RowControls scaleHead(int l, int h, float f) {
        head(l, h);
        claim(Slot.HEAD_SCALE);
        int i = lh(l, h);
        c.headScale.put(i, c.headScale.get(i) * f);
        return this;
    }

    /** AMP: logit a of {@code keys} becomes a + amp*|a| in head h (amp_mask is per layer, shared by heads). */
    public RowControls amplify(int l, int h, float amp, BitSet keys) {
        return amplify(l, h, amp, keys, 1f);
    }

    /**
     * AMP with a weighted key set: logit a of {@code keys} becomes a + amp*weight*|a|. The float amp_mask lets one
     * layer amplify key sets by different factors (IAF: local keys by alpha, summary keys by beta).
     */
    public RowControls amplify(int l, int h, float amp, BitSet keys, float weight) {
        head(l, h);
        claim(Slot.AMP);
        c.amp.put(lh(l, h), amp);
        for (int s = keys.nextSetBit(0); s >= 0; s = keys.nextSetBit(s + 1)) {
            c.ampMask.put(ls(l, key(s)), weight);
        }
        return this;
    }

    /**
     * FOCUS (GIFT): in the k heads of layer l with the most visual mass add {@code logw[s]} on visual keys; heads
     * with the most query mass rescale {@code query} keys by the resulting ratio.
     *
     * @param logw [S] log-weights, read on visual keys only
     */
    public RowControls focus(int l, int k, float[] logw, BitSet visual, BitSet query) {
        c.checkLayer(l);
        if (k < 0 || k > c.d.heads()) {
            throw new InvalidParamsException("focus.k", "must be in 0.." + c.d.heads() + ", was " + k);
        }
        if (logw.length != c.keys) {
            throw new InvalidParamsException("focus.logw", "needs " + c.keys + " values, has " + logw.length);
        }
        claim(Slot.FOCUS);
        visual(visual);
        c.focusK.put(b * c.d.layers() + l, k);
        for (int s = 0; s < c.keys; s++) {
            c.focusLogw.put(ls(l, s), logw[s]);
        }
        for (int s = query.nextSetBit(0); s >= 0; s = query.nextSetBit(s + 1)) {
            c.queryMask.put(ls(l, key(s)), 1f);
        }
        return this;
    }

    /**
     * REDIST (VAR): where head h's row passes the gate (visual mass >= summ, visual sink share <= rho), move
     * {@code frac} of the mass on {@code sinks} onto {@code targets}. Sinks and targets must be disjoint.
     */
    public RowControls redistribute(int l, int h, float frac, float summ, float rho, BitSet visual, BitSet sinks,
                                    BitSet targets) {
        head(l, h);
        if (sinks.intersects(targets)) {
            throw new InvalidParamsException("redist", "sink and target keys must be disjoint");
        }
        claim(Slot.REDIST);
        visual(visual);
        c.redist.put(lh(l, h), frac);
        int g = (b * c.d.layers() + l) * 2;
        c.redistGate.put(g, summ);
        c.redistGate.put(g + 1, rho);
        for (int s = sinks.nextSetBit(0); s >= 0; s = sinks.nextSetBit(s + 1)) {
            c.sinkMask.put(ls(l, key(s)), 1f);
        }
        for (int s = targets.nextSetBit(0); s >= 0; s = targets.nextSetBit(s + 1)) {
            c.targetMask.put(ls(l, key(s)), 1f);
        }
        return this;
    }

    /**
     * MIX (CausalMM): head h's weights become (1-value) A + value alt, alt chosen by {@code mode}.
     *
     * @param alt [S] used by {@link MixMode#GIVEN} (masked to allowed keys and renormalised by the graph); else null
     */
    public RowControls mix(int l, int h, float value, MixMode mode, float[] alt) {
        head(l, h);
        claim(Slot.MIX);
        if (c.mixModeSet.get(b) && c.mixMode.get(b) != mode.code()) {
            throw new ControlConflictException("row " + b + " mixes with two modes");
        }
        c.mixModeSet.set(b);
        c.mixMode.put(b, mode.code());
        c.mix.put(lh(l, h), value);
        if (mode == MixMode.GIVEN) {
            if (alt == null || alt.length != c.keys) {
                throw new InvalidParamsException("mix.alt", "mode given needs " + c.keys + " weights");
            }
            for (int s = 0; s < c.keys; s++) {
                c.mixAlt.put(lhs(l, h, s), alt[s]);
            }
        }
        return this;
    }

    /** The key permutation of {@link MixMode#PERMUTE}: alt[s] = A[perm[s]]. */
    public RowControls mixPermutation(long[] perm) {
        if (perm.length != c.keys) {
            throw new InvalidParamsException("mix.perm", "needs " + c.keys + " indices, has " + perm.length);
        }
        claim(Slot.MIX);
        for (int s = 0; s < c.keys; s++) {
            if (perm[s] < 0 || perm[s] >= c.keys) {
                throw new InvalidParamsException("mix.perm", "index " + perm[s] + " outside 0.." + (c.keys - 1));
            }
            c.mixPerm.put(b * c.keys + s, perm[s]);
        }
        return this;
    }

    /**
     * PAIR (VHR): at layer l, scale by alpha the heads whose last-position output diverges from row
     * {@code other}'s above the layer median. {@code other} must be in the same call.
     */
    public RowControls pairWith(RowRef other, int l, float alpha) {
        c.checkLayer(l);
        claim(Slot.PAIR);
        int p = c.rowIndex(other);
        if (p == b) {
            throw new InvalidParamsException("pair", "a row cannot pair with itself");
        }
        c.pairRow.put(b, p);
        c.pairAlpha.put(b * c.d.layers() + l, alpha);
        return this;
    }

    /** QUERY_ROWS: only the new query positions in {@code t} are edited (default: all of them). */
    public RowControls onlyQueryRows(BitSet t) {
        claim(Slot.QUERY_ROWS);
        for (int q = 0; q < c.queries; q++) {
            c.rowMask.put(b * c.queries + q, t.get(q) ? 1f : 0f);
        }
        return this;
    }

    private void claim(Slot slot) {
        if (!declared.contains(slot)) {
            throw new ControlConflictException(writer + " writes " + slot + " without declaring it in its footprint");
        }
        c.claim(b, slot, writer);
    }

    private void visual(BitSet visual) {
        for (int s = visual.nextSetBit(0); s >= 0; s = visual.nextSetBit(s + 1)) {
            c.visualMask.put(b * c.keys + key(s), 1f);
        }
    }

    private void head(int l, int h) {
        c.checkLayer(l);
        c.checkHead(h);
    }

    private int key(int s) {
        if (s < 0 || s >= c.keys) {
            throw new InvalidParamsException("key", "must be in 0.." + (c.keys - 1) + ", was " + s);
        }
        return s;
    }

    private int lh(int l, int h) {
        return (b * c.d.layers() + l) * c.d.heads() + h;
    }

    private int lhs(int l, int h, int s) {
        return lh(l, h) * c.keys + s;
    }

    private int ls(int l, int s) {
        return (b * c.d.layers() + l) * c.keys + s;
    }
}
