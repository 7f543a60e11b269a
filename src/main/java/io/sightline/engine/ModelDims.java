package io.sightline.engine;

/**
 * Shapes of the shipped graphs, from model.json {@code text}, {@code vision} and {@code image_tokens}.
 *
 * @param layers      L, decoder layers
 * @param heads       H, decoder heads
 * @param headDim     Dh
 * @param hidden      D
 * @param vocab       V
 * @param imageTokens N, image embeddings spliced at {@code <image>}
 * @param visionLayers Lv, ViT layers run (the exported ones)
 * @param visionHeads  Hv
 */
public record ModelDims(int layers, int heads, int headDim, int hidden, int vocab, int imageTokens,
                        int visionLayers, int visionHeads) {
}
