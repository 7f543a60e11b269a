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

    public SplitMix64 copy() {
        return new SplitMix64(state);
    }
}
