package io.sightline.scoring;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Percentile bootstrap confidence intervals over items (Efron and Tibshirani 1993, ch. 13). Each of
 * {@code resamples} resamples draws n items with replacement from the n scored items and recomputes the metric from
 * those items' outcomes; the interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of the resampled
 * metrics, interpolated linearly between order statistics (numpy.percentile's default). Every call starts a fresh
 * generator from {@code seed}, so intervals are reproducible and every metric over the same number of items sees the
 * same resampled index sets (paired across metrics and arms).
 */
public final class Bootstrap {

    private final int resamples;
    private final double level;
    private final long seed;

    public Bootstrap(int resamples, double level, long seed) {
        if (resamples < 2) {
            throw new IllegalArgumentException("need at least 2 resamples, was " + resamples);
        }
        if (!(level > 0 && level < 1)) {
            throw new IllegalArgumentException("level must be in (0, 1), was " + level);
        }
        this.resamples = resamples;
        this.level = level;
        this.seed = seed;
    }

    /** 1000 resamples, 95%, seed 0. */
    public static Bootstrap standard() {
        return new Bootstrap(1000, 0.95, 0);
    }

    public <T> Interval interval(List<T> outcomes, ToDoubleFunction<List<T>> metric) {
        if (outcomes.isEmpty()) {
            throw new IllegalArgumentException("no outcomes to resample");
        }
        int n = outcomes.size();
        SplittableRandom random = new SplittableRandom(seed);
        double[] stats = new double[resamples];
        List<T> sample = new ArrayList<>(n);
        for (int r = 0; r < resamples; r++) {
            sample.clear();
            for (int i = 0; i < n; i++) {
                sample.add(outcomes.get(random.nextInt(n)));
            }
            stats[r] = metric.applyAsDouble(sample);
        }
        Arrays.sort(stats);
        return new Interval(metric.applyAsDouble(outcomes), quantile(stats, (1 - level) / 2),
                quantile(stats, (1 + level) / 2));
    }

    /** Linear interpolation between the order statistics around position q * (m - 1) of the sorted values. */
    public static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
