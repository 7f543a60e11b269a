package io.sightline.engine;

/**
 * Zero-copy views of one decoder call's probe outputs (STYLE.md §2.3). Only outputs that some footprint reads
 * were computed; asking for another throws. Views die with the call: copy what you keep.
 */
public interface Probes {

    /** {@code attn_last} [S]: final attention of the row's last query, layer l, head h. */
    FloatView attnLast(RowRef r, int l, int h);

    /** {@code attn_query} [S]: head-averaged final attention of query t at layer l. */
    FloatView attnQuery(RowRef r, int l, int t);

    /** {@code attn_heads} [S]: head h's attention of query t at the call's probe layer. */
    FloatView attnHeads(RowRef r, int h, int t);

    /** {@code head_out} [Dh]: head h's output of the last query at layer l, before pair scaling and head_scale. */
    FloatView headOut(RowRef r, int l, int h);

    /** {@code sink_score} [T]: per new query, the sink score at layer l's input. */
    FloatView sinkScore(RowRef r, int l);

    /** {@code pair_heads} [H]: 1 where the pair rule scaled a head at layer l in this call. */
    FloatView pairHeads(RowRef r, int l);

    /** Key ranges of the row in this call. */
    KeySpans spans(RowRef r);
}
