package io.sightline.engine;

import java.util.BitSet;

/**
 * The visual attention ratio of one output (a score stored with every arm): the share of the last query's
 * attention mass that lands on image keys, averaged over layers and heads, then over the decoder calls that chose
 * a token. Read from {@code attn_last}, the attention after the arm's own edits, so it shows what a method did.
 */
final class VisualAttention {

    private double sum;
    private int steps;

    void add(Probes in, RowRef row, ModelDims d) {
        KeySpans spans = in.spans(row);
        if (!spans.hasImage()) {
            return;
        }
        BitSet image = spans.image();
        double step = 0;
        for (int l = 0; l < d.layers(); l++) {
            for (int h = 0; h < d.heads(); h++) {
                FloatView a = in.attnLast(row, l, h);
                for (int k = image.nextSetBit(0); k >= 0; k = image.nextSetBit(k + 1)) {
                    step += a.get(k);
                }
            }
        }
        sum += step / (d.layers() * d.heads());
        steps++;
    }

    /** NaN when no call saw an image. */
    double ratio() {
        return steps == 0 ? Double.NaN : sum / steps;
    }
}
