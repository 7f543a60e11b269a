package io.sightline.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.engine.DecodingOptions;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** One line per case, after llama.cpp's test-sampling: tiny logit vectors in, the chosen token out. */
class SamplerTest {

    private static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    @Test
    void splitMix64MatchesTheReferenceSequence() {
        // SplitMix64 from seed 0: the published first outputs (Vigna), also what reference.py PortableSampler draws
        SplitMix64 r = new SplitMix64(0);
        assertThat(r.nextLong()).isEqualTo(0xE220A8397B1DCDAFL);
        assertThat(r.nextLong()).isEqualTo(0x6E789E6AA1B965F4L);
        assertThat(r.nextLong()).isEqualTo(0x06C45D188009454FL);
    }

    @Test
    void uniformDrawUsesTheTop53Bits() {
        SplitMix64 a = new SplitMix64(42);
        SplitMix64 b = new SplitMix64(42);
        assertThat(a.nextDouble()).isEqualTo((b.nextLong() >>> 11) * 0x1.0p-53);
    }

    @Test
    void gaussianMatchesTheReferenceBoxMullerStream() {
        // methods/common.py SplitMix64(0).gaussian(5) and SplitMix64(42).gaussian(3); an odd count drops a sine
        assertThat(new SplitMix64(0).gaussian(5)).containsExactly(-1.8839083333524405, 0.8645068595575148,
                0.22760793546360525, -0.04211268468683916, -0.22143788059715477);
        assertThat(new SplitMix64(42).gaussian(3)).containsExactly(0.8822489062222688, 1.388473285287707,
                -0.4508498757188601);
    }

    @ParameterizedTest(name = "greedy {0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "0.1 0.2 0.3 0.4 | 3",
            "0.4 0.3 0.2 0.1 | 0",
            "0.3 0.3 0.2 0.2 | 0",      // ties go to the lower id, like torch.argmax
            "0.1 0.45 0.45 0.0 | 1",
    })
    void greedyTakesTheHighestLogitTiesToLowerId(String probs, int expected) {
        Sampler s = Sampler.of(DecodingOptions.greedy(1), 0);
        assertThat(s.sample(logitsOf(parse(probs)))).isEqualTo(expected);
    }

    /**
     * Seeded draws with u fixed by the seed: seed 0's first u is 0xE220A8397B1DCDAF >>> 11 * 2^-53 = 0.8833...
     * Candidates sorted by probability (ties to lower id), cut by top-k then top-p, renormalised; the first whose
     * cumulative mass exceeds u is chosen.
     */
    @ParameterizedTest(name = "p={0} k={1} top_p={2} -> {3}")
    @CsvSource(delimiter = '|', value = {
            // no-op settings: sorted 3(.4) 2(.3) 1(.2) 0(.1); cumulative .4 .7 .9 -> .9 > .883 picks id 1
            "0.1 0.2 0.3 0.4 | 0 | 1.0  | 1",
            // top-k 2 keeps 3, 2 renormalised to .571 .429: .571 < .883 <= 1 -> id 2
            "0.1 0.2 0.3 0.4 | 2 | 1.0  | 2",
            // top-k 1 always the most probable
            "0.1 0.2 0.3 0.4 | 1 | 1.0  | 3",
            // top-p .5: prefix .4, .7 reaches .5 -> {3, 2} -> id 2
            "0.1 0.2 0.3 0.4 | 0 | 0.5  | 2",
            // top-p .35: the first candidate alone reaches it
            "0.1 0.2 0.3 0.4 | 0 | 0.35 | 3",
            // ties sorted by id: 0(.25) 1(.25) 2(.25) 3(.25); cumulative .25 .5 .75 1 -> id 3
            "0.25 0.25 0.25 0.25 | 0 | 1.0 | 3",
    })
    void seededDrawFollowsThePortableScheme(String probs, int topK, double topP, int expected) {
        Sampler s = Sampler.of(new DecodingOptions(1, 1.0, topK, topP, 0L, List.of()), 0);
        assertThat(s.sample(logitsOf(parse(probs)))).isEqualTo(expected);
    }

    @Test
    void temperatureFlattensTheDistribution() {
        // at T=1 seed 0 (u=.883) picks id 1 above; a huge temperature makes it uniform: cumulative .25 .5 .75 1 -> id 0
        // (sorted by probability, nearly equal; the lowest-probability id sorts last)
        float[] l = logitsOf(0.1, 0.2, 0.3, 0.4);
        Sampler hot = Sampler.of(new DecodingOptions(1, 1e6, 0, 1.0, 0L, List.of()), 0);
        assertThat(hot.sample(l)).isEqualTo(0);
    }

    @Test
    void minusInfinityIsNeverDrawn() {
        float[] l = {Float.NEGATIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY};
        for (long seed = 0; seed < 20; seed++) {
            assertThat(Sampler.of(new DecodingOptions(1, 1.0, 0, 1.0, seed, List.of()), seed).sample(l)).isEqualTo(1);
        }
    }

    @Test
    void logprobIsLogSoftmaxOfTheChosenToken() {
        float[] l = logitsOf(0.1, 0.2, 0.3, 0.4);
        assertThat(Sampler.logprob(l, 3)).isCloseTo(Math.log(0.4), org.assertj.core.data.Offset.offset(1e-6));
    }

    @ParameterizedTest(name = "top {1} of [{0}] -> {2}")
    @CsvSource({
            "0.1 0.2 0.3 0.4, 2, 3 2",
            "0.1 0.2 0.3 0.4, 0, ''",
            "0.1 0.2 0.3 0.4, 9, 3 2 1 0",
            "0.3 0.1 0.3 0.3, 3, 0 2 3",      // ties to the lower id, as greedy breaks them
            "0.4 0.6 0 0, 3, 1 0 2",          // a -inf logit ranks last, with logprob -inf
    })
    void topIsTheKMostProbableTokensMostProbableFirst(String probs, int k, String expected) {
        float[] l = logitsOf(parse(probs));
        List<Sampler.Ranked> top = Sampler.top(l, k);
        assertThat(top.stream().map(Sampler.Ranked::token).toList())
                .containsExactlyElementsOf(expected.isEmpty() ? List.of() : java.util.Arrays.stream(parse(expected))
                        .mapToObj(d -> (int) d).toList());
        for (Sampler.Ranked r : top) {
            // the same value, bit for bit, that the engine reports for the chosen token
            assertThat(r.logprob()).isEqualTo(Sampler.logprob(l, r.token()));
        }
    }

    private static double[] parse(String s) {
        String[] p = s.trim().split(" ");
        double[] out = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = Double.parseDouble(p[i]);
        }
        return out;
    }
}
