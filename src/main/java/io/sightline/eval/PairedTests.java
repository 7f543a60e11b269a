package io.sightline.eval;

import io.sightline.scoring.Bootstrap;
import io.sightline.scoring.Interval;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/** Significance of the difference between two arms scored on the same items. */
public final class PairedTests {

    private PairedTests() {
    }

    /**
     * Exact McNemar test (two-sided binomial test on the discordant pairs, McNemar 1947; the exact form as in
     * statsmodels' mcnemar(exact=True)): under H0 an item right for one arm and wrong for the other is equally likely
     * either way round, so min(b, c) ~ Binomial(b + c, 1/2).
     *
     * @param b items right for the first arm only
     * @param c items right for the second arm only
     * @return the two-sided p-value; 1 when there is no discordant item
     */
    public static double mcnemarExact(int b, int c) {
        int n = b + c;
        if (n == 0) {
            return 1.0;
        }
        int k = Math.min(b, c);
        // P(X <= k) summed in log space: 0.5^n underflows a double beyond n = 1074
        double logHalfPowN = n * Math.log(0.5);
        double logChoose = 0;                                  // log C(n, 0)
        double tail = 0;
        for (int i = 0; i <= k; i++) {
            if (i > 0) {
                logChoose += Math.log((double) (n - i + 1) / i);
            }
            tail += Math.exp(logChoose + logHalfPowN);
        }
        return Math.min(1.0, 2 * tail);
    }

    /**
     * Paired bootstrap of a metric's difference (second arm minus first): each resample draws the same items for both
     * arms. The p-value is two-sided, twice the smaller share of resampled differences on either side of 0 (capped
     * at 1); the interval is the percentile interval of the differences (as {@link Bootstrap}).
     *
     * @param first  the first arm's outcomes, item by item
     * @param second the second arm's outcomes on the same items, in the same order
     */
    public static <T> Difference pairedBootstrap(List<T> first, List<T> second, ToDoubleFunction<List<T>> metric,
                                                 int resamples, double level, long seed) {
        if (first.size() != second.size() || first.isEmpty()) {
            throw new IllegalArgumentException("need the same non-zero number of items for both arms, were "
                    + first.size() + " and " + second.size());
        }
        int n = first.size();
        SplittableRandom random = new SplittableRandom(seed);
        double[] diffs = new double[resamples];
        Object[] a = new Object[n];
        Object[] b = new Object[n];
        int atOrBelow = 0;
        int atOrAbove = 0;
        for (int r = 0; r < resamples; r++) {
            for (int i = 0; i < n; i++) {
                int pick = random.nextInt(n);
                a[i] = first.get(pick);
                b[i] = second.get(pick);
            }
            diffs[r] = metric.applyAsDouble(cast(b)) - metric.applyAsDouble(cast(a));
            atOrBelow += diffs[r] <= 0 ? 1 : 0;
            atOrAbove += diffs[r] >= 0 ? 1 : 0;
        }
        Arrays.sort(diffs);
        double p = Math.min(1.0, 2.0 * Math.min(atOrBelow, atOrAbove) / resamples);
        double observed = metric.applyAsDouble(second) - metric.applyAsDouble(first);
        return new Difference(new Interval(observed, Bootstrap.quantile(diffs, (1 - level) / 2),
                Bootstrap.quantile(diffs, (1 + level) / 2)), p);
    }

    /** A difference between arms with its confidence interval and p-value. */
    public record Difference(Interval difference, double pValue) {
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> cast(Object[] items) {
        return (List<T>) Arrays.asList(items);
    }
}
