package io.sightline.intervention.carve;

import io.sightline.engine.ImageInput;
import io.sightline.engine.ModelBundle;
import io.sightline.vision.ImagePreprocessor;
import io.sightline.vision.PilResample;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * CARVE's image step (reference: onnx-models/tools/methods/carve.py {@code refine}): the contrast map on the
 * patch grid stretched over the image, its top pixels grouped into 4-connected regions, the best regions kept,
 * everything else blacked out, the kept part cropped to its bounding box and magnified back to the image's size.
 *
 * @param tau        the threshold: the (1 - keep_ratio) percentile of the map (numpy's linear rule)
 * @param components 4-connected components of {@code map >= tau}, labelled 1.. in raster order
 * @param kept       labels of the kept regions, ascending
 * @param bboxYx     {y0, y1, x0, x1} of the mask, half-open
 * @param mask       [H*W] kept pixels
 * @param width      of the refined image (before the model's resize)
 * @param height     of the refined image
 * @param rgb        the refined image [height,width,3]
 * @param image      the refined image as the model sees it (resized like an upload)
 */
public record Refinement(double tau, int components, List<Integer> kept, int[] bboxYx, boolean[] mask, int width,
                         int height, byte[] rgb, ImageInput image) {

    /**
     * @param rgb  the image [h,w,3]
     * @param grid the contrast map on the patch grid, row-major [gridRows*gridCols]
     */
    public static Refinement of(byte[] rgb, int h, int w, double[] grid, Carve.Params p, ModelBundle model) {
        double[] s = bilinear(grid, model.grid()[0], model.grid()[1], h, w);
        double tau = percentile(s, 100 * (1 - p.keepRatio()));
        int[] label = new int[h * w];
        int n = components(s, tau, h, w, label);
        double[] score = new double[n + 1];
        for (int i = 0; i < label.length; i++) {
            score[label[i]] += s[i];
        }
        int keepN = Math.max(p.minRegions(), (int) (p.regionFraction() * n));
        List<Integer> kept = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            kept.add(i);
        }
        // best sum first, ties to the lower label (the reference's sort key (-score, label))
        kept.sort(Comparator.<Integer>comparingDouble(i -> -score[i]).thenComparing(i -> i));
        kept = new ArrayList<>(kept.subList(0, Math.min(keepN, n)));
        kept.sort(null);
        boolean[] keep = new boolean[n + 1];
        kept.forEach(i -> keep[i] = true);
        boolean[] mask = new boolean[h * w];
        int y0 = h, y1 = 0, x0 = w, x1 = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (keep[label[y * w + x]]) {
                    mask[y * w + x] = true;
                    y0 = Math.min(y0, y);
                    y1 = Math.max(y1, y + 1);
                    x0 = Math.min(x0, x);
                    x1 = Math.max(x1, x + 1);
                }
            }
        }
        int ch = y1 - y0;
        int cw = x1 - x0;
        byte[] crop = new byte[ch * cw * 3];
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                if (mask[y * w + x]) {
                    System.arraycopy(rgb, (y * w + x) * 3, crop, ((y - y0) * cw + x - x0) * 3, 3);
                }
            }
        }
        double scale = Math.max((double) w / cw, (double) h / ch);
        // Python's round: half to even
        int outW = (int) Math.rint(cw * scale);
        int outH = (int) Math.rint(ch * scale);
        // the reference magnifies with PIL's Lanczos; PilResample is that, bit for bit
        byte[] out = PilResample.resize(crop, cw, ch, outW, outH, PilResample.Filter.LANCZOS);
        ImageInput image = ImagePreprocessor.modelInput(out, outW, outH, model.imageSize(), model.mean(), model.std());
        return new Refinement(tau, n, List.copyOf(kept), new int[] {y0, y1, x0, x1}, mask, outW, outH, out, image);
    }

    /**
     * torch {@code F.interpolate(mode="bilinear", align_corners=False)} of a [rows,cols] map to [h,w], in double and in
     * the same operation order (aten upsample_bilinear2d), so the threshold sees the reference's values.
     */
    static double[] bilinear(double[] g, int rows, int cols, int h, int w) {
        double[] out = new double[h * w];
        double sy = (double) rows / h;
        double sx = (double) cols / w;
        for (int y = 0; y < h; y++) {
            double fy = Math.max(0, sy * (y + 0.5) - 0.5);
            int y0 = (int) fy;
            int dy = y0 < rows - 1 ? 1 : 0;
            double ly1 = fy - y0;
            double ly0 = 1 - ly1;
            for (int x = 0; x < w; x++) {
                double fx = Math.max(0, sx * (x + 0.5) - 0.5);
                int x0 = (int) fx;
                int dx = x0 < cols - 1 ? 1 : 0;
                double lx1 = fx - x0;
                double lx0 = 1 - lx1;
                out[y * w + x] = ly0 * (lx0 * g[y0 * cols + x0] + lx1 * g[y0 * cols + x0 + dx])
                        + ly1 * (lx0 * g[(y0 + dy) * cols + x0] + lx1 * g[(y0 + dy) * cols + x0 + dx]);
            }
        }
        return out;
    }

    /** numpy {@code percentile(v, q)}, method linear: index (n-1) q/100, numpy's two-sided lerp. */
    static double percentile(double[] v, double q) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        double at = (sorted.length - 1) * (q / 100);
        if (at >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        int i = (int) Math.floor(at);
        double t = at - i;
        double a = sorted[i];
        double b = sorted[i + 1];
        return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
    }

    /** 4-connected components of {@code s >= tau}; labels 1.. in raster order of their first pixel. */
    static int components(double[] s, double tau, int h, int w, int[] label) {
        int n = 0;
        ArrayDeque<Integer> stack = new ArrayDeque<>();
        for (int i = 0; i < h * w; i++) {
            if (s[i] >= tau && label[i] == 0) {
                label[i] = ++n;
                stack.push(i);
                while (!stack.isEmpty()) {
                    int c = stack.pop();
                    int y = c / w;
                    int x = c % w;
                    int[] next = {y > 0 ? c - w : -1, y < h - 1 ? c + w : -1, x > 0 ? c - 1 : -1, x < w - 1 ? c + 1 : -1};
                    for (int j : next) {
                        if (j >= 0 && s[j] >= tau && label[j] == 0) {
                            label[j] = n;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        return n;
    }
}
