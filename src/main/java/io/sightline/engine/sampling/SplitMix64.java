package io.sightline.engine.sampling;

/**
 * The portable generator of onnx-models/README.md ("Sampling"): Java and the Python reference
 * (reference.py PortableSampler) draw the same numbers from the same seed. Keep the two in sync.
 */
public final class SplitMix64 {

    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    public long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /**
     * {@code n} standard normals by Box-Muller in pairs, as methods/common.py SplitMix64.gaussian draws them: u1, u2
     * in that order, r = sqrt(-2 ln(1 - u1)), then r cos(2 pi u2) and r sin(2 pi u2); an odd n drops the last sine.
     * Math, not StrictMath: HotSpot's intrinsics agree with the glibc libm the reference runs on for all but ~0.2%
     * of draws (those one ulp apart), fdlibm's StrictMath for ~94%; the noise is cast to float32 after scaling, so an
     * ulp never reaches the model.
     */
    public double[] gaussian(int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = nextDouble();
            double u2 = nextDouble();
            double r = Math.sqrt(-2.0 * Math.log(1.0 - u1));
            out[i] = r * Math.cos(2 * Math.PI * u2);
            if (i + 1 < n) {
                out[i + 1] = r * Math.sin(2 * Math.PI * u2);
            }
        }
        return out;
    }
}
