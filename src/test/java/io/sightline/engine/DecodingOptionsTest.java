package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DecodingOptionsTest {

    @ParameterizedTest(name = "max={0} t={1} k={2} p={3} -> {4}")
    @CsvSource({
            "0, 0, 0, 1, max_new_tokens",
            "1025, 0, 0, 1, max_new_tokens",
            "8, -0.1, 0, 1, temperature",
            "8, NaN, 0, 1, temperature",
            "8, Infinity, 0, 1, temperature",
            "8, 1, -1, 1, top_k",
            "8, 1, 0, 0, top_p",
            "8, 1, 0, 1.01, top_p",
            "8, 1, 0, NaN, top_p",
    })
    void outOfRangeValuesAreInvalidParamsNamingTheField(int max, double t, int k, double p, String field) {
        assertThatThrownBy(() -> new DecodingOptions(max, t, k, p, null, List.of()))
                .isInstanceOf(InvalidParamsException.class)
                .satisfies(e -> {
                    assertThat(((InvalidParamsException) e).field()).isEqualTo(field);
                    assertThat(((SightlineException) e).code()).isEqualTo("invalid-params");
                });
    }

    @ParameterizedTest(name = "max={0} t={1} k={2} p={3} is valid")
    @CsvSource({"1, 0, 0, 1", "1024, 2.5, 40, 0.95", "8, 0, 0, 1e-9"})
    void boundaryValuesAreAccepted(int max, double t, int k, double p) {
        assertThat(new DecodingOptions(max, t, k, p, 1L, null).stop()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({"''"})
    void emptyStopStringIsRejected(String stop) {
        assertThatThrownBy(() -> new DecodingOptions(8, 0, 0, 1, null, List.of(stop)))
                .isInstanceOf(InvalidParamsException.class).hasMessageContaining("stop");
    }

    @ParameterizedTest(name = "{0}: arm {2} of seed {1} draws with {3}")
    @CsvSource({"SHARED, 7, 0, 7", "SHARED, 7, 2, 7", "CONSECUTIVE, 7, 0, 7", "CONSECUTIVE, 7, 2, 9",
            "CONSECUTIVE, 9223372036854775807, 1, -9223372036854775808"})
    void armSeedsGiveEachArmItsSeed(DecodingOptions.ArmSeeds rule, long seed, int arm, long expected) {
        assertThat(rule.of(seed, arm)).isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void armsShareOneSeedUnlessToldOtherwise() {
        assertThat(new DecodingOptions(8, 1, 0, 1, 1L, null).armSeeds()).isEqualTo(DecodingOptions.ArmSeeds.SHARED);
        assertThat(new DecodingOptions(8, 1, 0, 1, 1L, null, null).armSeeds()).isEqualTo(DecodingOptions.ArmSeeds.SHARED);
    }
}
