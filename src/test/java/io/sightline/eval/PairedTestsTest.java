package io.sightline.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sightline.scoring.Interval;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PairedTestsTest {

    /** Expected values: twice the exact Binomial(b + c, 1/2) tail at min(b, c), worked out by hand. */
    @ParameterizedTest(name = "b={0} c={1} -> p={2}")
    @CsvSource({
            "0, 0, 1.0",                      // no discordant pair: no evidence
            "3, 3, 1.0",
            "10, 2, 0.03857421875",           // 2 * (1 + 12 + 66) / 4096
            "2, 10, 0.03857421875",           // symmetric
            "5, 0, 0.0625",                   // 2 / 32
            "1, 0, 1.0"})                     // capped at 1
    void mcnemarExactIsTheTwoSidedBinomialTestOnDiscordantPairs(int b, int c, double p) {
        assertThat(PairedTests.mcnemarExact(b, c)).isCloseTo(p, within(1e-12));
    }

    @Test
    void mcnemarExactStaysFiniteBeyondTheDoubleRangeOfHalfToTheN() {
        assertThat(PairedTests.mcnemarExact(700, 700)).isCloseTo(1.0, within(1e-9));
        assertThat(PairedTests.mcnemarExact(1200, 800)).isPositive().isLessThan(1e-15);
    }

    @Test
    void pairedBootstrapOfIdenticalArmsFindsNoDifference() {
        List<Integer> a = IntStream.range(0, 50).boxed().toList();
        PairedTests.Difference d = PairedTests.pairedBootstrap(a, a, xs -> xs.stream().mapToInt(i -> i).average()
                .orElse(0), 200, 0.95, 7);
        assertThat(d.difference()).isEqualTo(new Interval(0, 0, 0));
        assertThat(d.pValue()).isEqualTo(1.0);
    }

    @Test
    void pairedBootstrapOfAClearShiftIsSignificantAndItsIntervalHoldsTheShift() {
        List<Double> a = IntStream.range(0, 60).mapToObj(i -> (double) (i % 2)).toList();
        List<Double> b = a.stream().map(x -> x + 0.5).toList();
        PairedTests.Difference d = PairedTests.pairedBootstrap(a, b, xs -> xs.stream().mapToDouble(x -> x).average()
                .orElse(0), 500, 0.95, 7);
        assertThat(d.difference().point()).isCloseTo(0.5, within(1e-12));
        assertThat(d.difference().lower()).isCloseTo(0.5, within(1e-12));
        assertThat(d.pValue()).isZero();
    }

    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({
            // the closed form evaluated independently in Python, rounded to 7 places
            "0, 1, 0.0, 0.0, 0.7934506",
            "1, 1, 1.0, 0.2065494, 1.0",
            "5, 10, 0.5, 0.2365931, 0.7634069",
            "90, 100, 0.9, 0.8256343, 0.9447708"})
    void wilsonMatchesTheReferenceIntervals(long k, long n, double p, double lower, double upper) {
        Interval w = Wilson.interval95(k, n);
        assertThat(w.point()).isCloseTo(p, within(1e-12));
        assertThat(w.lower()).isCloseTo(lower, within(1e-6));
        assertThat(w.upper()).isCloseTo(upper, within(1e-6));
    }

    @Test
    void wilsonWithoutObservationsIsNull() {
        assertThat(Wilson.interval95(0, 0)).isNull();
    }
}
