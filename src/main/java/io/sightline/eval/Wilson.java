package io.sightline.eval;

import io.sightline.scoring.Interval;

/**
 * Wilson score interval for a binomial proportion (Wilson 1927): unlike the normal approximation it stays inside
 * [0, 1] and is usable for the few judgements live feedback gathers.
 */
public final class Wilson {

    /** z for a two-sided 95% interval. */
    public static final double Z95 = 1.959963984540054;

    private Wilson() {
    }

    /** The proportion successes / n with its 95% interval; null when n is 0. */
    public static Interval interval95(long successes, long n) {
        if (n == 0) {
            return null;
        }
        double p = (double) successes / n;
        double z2 = Z95 * Z95;
        double denominator = 1 + z2 / n;
        double centre = (p + z2 / (2.0 * n)) / denominator;
        double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denominator;
        return new Interval(p, Math.max(0, centre - half), Math.min(1, centre + half));
    }
}
