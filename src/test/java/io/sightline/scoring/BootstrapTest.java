package io.sightline.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BootstrapTest {

    private static double share(List<Boolean> xs) {
        return xs.stream().filter(b -> b).count() / (double) xs.size();
    }

    /** n items, the first {@code yes} of them true. */
    private static List<Boolean> items(int n, int yes) {
        List<Boolean> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(i < yes);
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"20, 7", "100, 50", "400, 390", "1000, 123"})
    void intervalContainsThePointEstimate(int n, int yes) {
        Interval ci = Bootstrap.standard().interval(items(n, yes), BootstrapTest::share);
        assertThat(ci.point()).isEqualTo((double) yes / n);
        assertThat(ci.contains(ci.point())).isTrue();
        assertThat(ci.lower()).isLessThan(ci.upper());
    }

    @Test
    void intervalShrinksWithTheNumberOfItems() {
        double w20 = Bootstrap.standard().interval(items(20, 10), BootstrapTest::share).width();
        double w200 = Bootstrap.standard().interval(items(200, 100), BootstrapTest::share).width();
        double w2000 = Bootstrap.standard().interval(items(2000, 1000), BootstrapTest::share).width();
        assertThat(w200).isLessThan(w20);
        assertThat(w2000).isLessThan(w200);
        // the binomial normal-approximation width 2 * 1.96 * sqrt(0.25 / n), within 15%
        assertThat(w2000).isCloseTo(2 * 1.96 * Math.sqrt(0.25 / 2000), withinPercentage(15));
    }

    @Test
    void sameSeedSameInterval() {
        List<Boolean> xs = items(50, 17);
        assertThat(new Bootstrap(500, 0.9, 7).interval(xs, BootstrapTest::share))
                .isEqualTo(new Bootstrap(500, 0.9, 7).interval(xs, BootstrapTest::share));
    }

    @Test
    void constantOutcomesGiveADegenerateInterval() {
        assertThat(Bootstrap.standard().interval(items(30, 30), BootstrapTest::share))
                .isEqualTo(new Interval(1.0, 1.0, 1.0));
    }

    @ParameterizedTest
    @CsvSource({"0.0, 1.0", "0.5, 2.5", "0.25, 1.75", "1.0, 4.0"})
    void quantileInterpolatesBetweenOrderStatistics(double q, double expected) {
        assertThat(Bootstrap.quantile(new double[] {1, 2, 3, 4}, q)).isEqualTo(expected);
    }

    @Test
    void rejectsNothingToResample() {
        assertThatThrownBy(() -> Bootstrap.standard().interval(List.<Boolean>of(), BootstrapTest::share))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
