package io.sightline.intervention;

import io.sightline.engine.FloatView;
import io.sightline.engine.sampling.LogSoftmax;

/**
 * The logit arithmetic the contrastive methods share (VCD, LQCD, CausalMM, M3ID, PAI's and IAF's guidance), on a step's
 * logits [V]: log-softmax, the weighted difference of two rows, and VCD's adaptive plausibility cutoff.
 */
public final class Contrast {

    private Contrast() {
    }

    /** log_softmax of {@code l}, in double for a stable sum. */
    public static double[] logSoftmax(float[] l) {
        return LogSoftmax.of(l).all(l);
    }

    public static double[] logSoftmax(FloatView l) {
        return logSoftmax(l.copy());
    }

    public static double[] widen(float[] l) {
        double[] out = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = l[i];
        }
        return out;
    }

    /** {@code (1 + alpha) pos - alpha neg}, written into {@code out}. */
    public static void difference(double[] pos, double[] neg, double alpha, float[] out) {
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) ((1 + alpha) * pos[i] - alpha * neg[i]);
        }
    }

    /**
     * VCD's contrast on raw logits, shared by VCD, LQCD and CausalMM: {@code base} becomes
     * {@code (1 + alpha) base - alpha neg}, restricted by {@link #cutoff} at {@code beta} on the original base.
     */
    public static void contrastLogits(float[] base, double[] neg, double alpha, double beta) {
        double[] pos = widen(base);
        difference(pos, neg, alpha, base);
        cutoff(pos, beta, base);
    }

    /**
     * Classifier-free guidance in log-probability space (PAI's CFGLogits, also IAF's): with s = log_softmax,
     * {@code cond} becomes {@code s_u + gamma (s_c - s_u)}, -inf where s_c is below {@code max(s_c) + ln(cutoff)}.
     * At gamma = 1 it becomes s_c with no cutoff, and {@code uncond} is not read (may be null: that row need not run).
     */
    public static void guidance(float[] cond, FloatView uncond, double gamma, double cutoff) {
        double[] c = logSoftmax(cond);
        if (gamma == 1) {
            for (int i = 0; i < cond.length; i++) {
                cond[i] = (float) c[i];
            }
            return;
        }
        // s_u + gamma (s_c - s_u) = gamma s_c - (gamma - 1) s_u
        difference(c, logSoftmax(uncond), gamma - 1, cond);
        cutoff(c, cutoff, cond);
    }

    /**
     * The adaptive plausibility constraint: entries of {@code out} whose {@code base} value is below
     * {@code max(base) + ln(beta)} become -inf (base: raw logits or log-probabilities of the trusted row).
     */
    public static void cutoff(double[] base, double beta, float[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : base) {
            max = Math.max(max, v);
        }
        double floor = max + Math.log(beta);
        for (int i = 0; i < out.length; i++) {
            if (base[i] < floor) {
                out[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }
}
