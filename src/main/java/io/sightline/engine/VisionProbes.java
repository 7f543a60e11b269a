package io.sightline.engine;

/** Views of the vision call's probes for one arm's image row; valid only inside the hook. */
public interface VisionProbes {

    /** {@code cls_attn} [N]: head-summed CLS-to-patch attention at ViT layer l. */
    FloatView clsAttn(int l);

    /** {@code vision_attn} [N+1]: head h's attention row of query q (0 = CLS) at the vision probe layer. */
    FloatView visionAttn(int h, int q);
}
