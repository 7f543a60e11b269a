package io.sightline.intervention.lqcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.ArmResult;
import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.Params;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LqcdTest {

    private static final Lqcd.Params DEFAULTS = new Lqcd().defaults();

    @ParameterizedTest(name = "{0} = {1} is rejected")
    @CsvSource({
            "alpha, -1",
            "beta, 0",
            "beta, 2",
    })
    void outOfRangeValuesAreInvalidParamsNamingTheParameter(String key, double value) {
        assertThatThrownBy(() -> Params.overlay(DEFAULTS, Map.of(key, value), "arms[0].params"))
                .isInstanceOf(InvalidParamsException.class)
                .hasMessageContaining(key);
    }

    @Test
    void blankQueryOverrideIsInvalidParams() {
        assertThatThrownBy(() -> Params.overlay(DEFAULTS, Map.of("leading_prompt", " "), "arms[0].params"))
                .isInstanceOf(InvalidParamsException.class)
                .hasMessageContaining("leading_prompt");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // prompt | neutral | leading ('' = none: plain decoding)
            "I think there is an  egg here . is there a heart in the image ? | is there a heart in the image ? "
                    + "| i think there is an egg here . is there a heart in the image ?",
            "is there a star in the image ? | is there a star in the image ? "
                    + "| i am sure there is a star here . is there a star in the image ?",
            "describe the image . | describe the image . | ''",
            "what colour is the circle ? | what colour is the circle ? | ''",
    })
    void queryPairFollowsTheReferenceRule(String prompt, String neutral, String leading) {
        assertThat(Lqcd.queryPair(DEFAULTS, prompt))
                .isEqualTo(new Lqcd.QueryPair(neutral, leading.isEmpty() ? null : leading));
    }

    @Test
    void overridesReplaceTheRule() {
        Lqcd.Params p = Params.overlay(DEFAULTS, Map.of("neutral_prompt", "is there a moon in the image ?"), "p");
        assertThat(Lqcd.queryPair(p, "describe the image ."))
                .isEqualTo(new Lqcd.QueryPair("is there a moon in the image ?", null));
    }

    @Test
    void promptWithoutLeadingCounterpartDecodesLikeNone() {
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-a.png"), "describe the image .",
                DecodingOptions.greedy(8), List.of(ArmSpec.none(), new ArmSpec("lqcd", Map.of())));
        List<ArmResult> r = TestModel.generator().generate(req, Cancellation.create());
        assertThat(r.get(1).tokens()).containsExactly(r.get(0).tokens());
        assertThat(r.get(1).logprobs()).containsExactly(r.get(0).logprobs());
    }
}
