package io.sightline.vision;

/**
 * PIL's {@code Image.resize(size, filter)} of an 8-bit RGB image, bit for bit: the reference
 * (onnx-models/tools/reference.py, methods/carve.py) resamples with Pillow, and the model's logits move visibly
 * with a grey level here and there, so the engine resamples the same way. Port of Pillow's
 * src/libImaging/Resample.c ({@code precompute_coeffs}, {@code normalize_coeffs_8bpc},
 * {@code ImagingResampleHorizontal_8bpc}/{@code Vertical_8bpc}, {@code ImagingResampleInner}) for the whole image
 * as the box: separable, the horizontal pass first and only when the width changes, then the vertical pass only
 * when the height changes, each rounding to 8 bits; coefficients are normalised in double, then fixed point with
 * {@link #PRECISION_BITS} fractional bits. PilResampleTest checks it against Pillow's own output.
 */
public final class PilResample {

    /** The filters the reference uses, with Pillow's support (the kernel's radius when not downscaling). */
    public enum Filter {
        /** Pillow's BOX: a pixel counts whole when its centre falls in (-1/2, 1/2] of the output pixel. */
        BOX(0.5) {
            @Override
            double weight(double x) {
                return x > -0.5 && x <= 0.5 ? 1 : 0;
            }
        },
        /** Pillow's LANCZOS: sinc(x) sinc(x/3) on [-3, 3). */
        LANCZOS(3) {
            @Override
            double weight(double x) {
                return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
            }
        };

        private final double support;

        Filter(double support) {
            this.support = support;
        }

        abstract double weight(double x);

        // Resample.c sinc_filter; StrictMath so the result does not depend on the JIT's intrinsics
        private static double sinc(double x) {
            if (x == 0) {
                return 1;
            }
            x = x * Math.PI;
            return StrictMath.sin(x) / x;
        }
    }

    /** 8 bits for the result, 2 for the overflow of filters with negative lobes (Resample.c PRECISION_BITS). */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResample() {
    }

    /**
     * @param rgb the image [h,w,3]
     * @return the image [outH,outW,3] (a copy when the size does not change, as Pillow's)
     */
    public static byte[] resize(byte[] rgb, int w, int h, int outW, int outH, Filter filter) {
        if (w < 1 || h < 1 || outW < 1 || outH < 1 || rgb.length != w * h * 3) {
            throw new IllegalArgumentException("need positive sizes and " + w + "x" + h + "x3 bytes, got "
                    + rgb.length + " bytes to " + outW + "x" + outH);
        }
        byte[] out = rgb.clone();
        if (outW != w) {
            out = horizontal(out, w, h, outW, Kernel.of(w, outW, filter));
        }
        if (outH != h) {
            out = vertical(out, outW, h, outH, Kernel.of(h, outH, filter));
        }
        return out;
    }

    private static byte[] horizontal(byte[] in, int w, int h, int outW, Kernel k) {
        byte[] out = new byte[outW * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < outW; x++) {
                for (int c = 0; c < 3; c++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < k.len[x]; i++) {
                        ss += (in[(y * w + k.min[x] + i) * 3 + c] & 0xFF) * k.coeff[x][i];
                    }
                    out[(y * outW + x) * 3 + c] = clip8(ss);
                }
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] in, int w, int h, int outH, Kernel k) {
        byte[] out = new byte[w * outH * 3];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < k.len[y]; i++) {
                        ss += (in[((k.min[y] + i) * w + x) * 3 + c] & 0xFF) * k.coeff[y][i];
                    }
                    out[(y * w + x) * 3 + c] = clip8(ss);
                }
            }
        }
        return out;
    }

    // Resample.c clip8: its lookup table is this clamp of the integer part
    private static byte clip8(int ss) {
        return (byte) Math.max(0, Math.min(255, ss >> PRECISION_BITS));
    }

    /**
     * One pass's taps: output pixel {@code o} reads input pixels {@code min[o] .. min[o] + len[o] - 1} with fixed-point
     * weights {@code coeff[o]}.
     */
    private record Kernel(int[] min, int[] len, int[][] coeff) {

        /** Resample.c precompute_coeffs (box 0..in) followed by normalize_coeffs_8bpc, in its operation order. */
        static Kernel of(int in, int out, Filter filter) {
            double scale = (double) in / out;
            double filterscale = Math.max(scale, 1);
            double support = filter.support * filterscale;
            double ss = 1.0 / filterscale;
            int[] min = new int[out];
            int[] len = new int[out];
            int[][] coeff = new int[out][];
            for (int o = 0; o < out; o++) {
                double center = (o + 0.5) * scale;
                // (int) truncates toward zero like C's cast, before the clamp, as Pillow rounds the bounds
                int xmin = Math.max(0, (int) (center - support + 0.5));
                int xmax = Math.min(in, (int) (center + support + 0.5)) - xmin;
                double[] k = new double[xmax];
                double ww = 0;
                for (int x = 0; x < xmax; x++) {
                    k[x] = filter.weight((x + xmin - center + 0.5) * ss);
                    ww += k[x];
                }
                coeff[o] = new int[xmax];
                for (int x = 0; x < xmax; x++) {
                    double v = ww != 0 ? k[x] / ww : k[x];
                    coeff[o][x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                min[o] = xmin;
                len[o] = xmax;
            }
            return new Kernel(min, len, coeff);
        }
    }
}
