package io.sightline.engine;

/** Probe outputs of the graphs; only those some footprint reads are requested from ONNX Runtime. */
public enum ProbeKind {
    /** decoder {@code attn_last} [B,L,H,S] */
    ATTN_LAST("attn_last", true),
    /** decoder {@code attn_query} [B,L,T,S] */
    ATTN_QUERY("attn_query", true),
    /** decoder {@code attn_heads} [B,H,T,S] at probe_layer */
    ATTN_HEADS("attn_heads", true),
    /** decoder {@code head_out} [B,L,H,Dh] */
    HEAD_OUT("head_out", true),
    /** decoder {@code sink_score} [B,L,T] */
    SINK_SCORE("sink_score", true),
    /** decoder {@code pair_heads} [B,L,H] */
    PAIR_HEADS("pair_heads", true),
    /** vision {@code cls_attn} [B,Lv,N] */
    CLS_ATTN("cls_attn", false),
    /** vision {@code vision_attn} [B,Hv,N+1,N+1] at probe_layer */
    VISION_ATTN("vision_attn", false);

    private final String output;
    private final boolean decoder;

    ProbeKind(String output, boolean decoder) {
        this.output = output;
        this.decoder = decoder;
    }

    /** The ABI output name. */
    public String output() {
        return output;
    }

    public boolean decoder() {
        return decoder;
    }
}
