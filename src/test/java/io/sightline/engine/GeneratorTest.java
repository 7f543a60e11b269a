package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.intervention.ArmSpec;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The step loop on the shipped model with real ONNX Runtime: batching, stopping, logprobs, cancellation. */
class GeneratorTest {

    private static final String CAPTION = "describe the image .";
    private static final String SHORT = "is there a star ?";
    private static final String LONG = "i am sure there is a star here . is there a star in the image ?";

    private static GenerationRequest request(String prompt, DecodingOptions o, int arms) {
        return new GenerationRequest(TestModel.image("samples/scene-a.png"), prompt, o,
                Collections.nCopies(arms, ArmSpec.none()));
    }

    private static ArmResult one(String prompt, DecodingOptions o) {
        return TestModel.generator().generate(request(prompt, o, 1), Cancellation.create()).get(0);
    }

    @Test
    void rowsOfDifferentPromptLengthsInOneCallDecodeAsIfAlone() {
        DecodingOptions o = DecodingOptions.greedy(12);
        ArmResult shortAlone = one(SHORT, o);
        ArmResult longAlone = one(LONG, o);
        List<List<ArmResult>> both = TestModel.generator().generateBatch(
                List.of(request(SHORT, o, 1), request(LONG, o, 1)), Cancellation.create());
        assertThat(both.get(0).get(0).tokens()).containsExactly(shortAlone.tokens());
        assertThat(both.get(1).get(0).tokens()).containsExactly(longAlone.tokens());
        assertThat(both.get(0).get(0).logprobs()).containsExactly(shortAlone.logprobs(),
                org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void identicalArmsOfOneRequestGiveIdenticalOutputs() {
        List<ArmResult> r = TestModel.generator().generate(request(CAPTION, DecodingOptions.greedy(12), 3),
                Cancellation.create());
        assertThat(r).hasSize(3);
        assertThat(r.get(1).tokens()).containsExactly(r.get(0).tokens());
        assertThat(r.get(2).tokens()).containsExactly(r.get(0).tokens());
        assertThat(r.get(1).text()).isEqualTo(r.get(0).text());
    }

    @Test
    void everyOutputWithAnImageScoresItsVisualAttentionRatio() {
        ArmResult alone = one(CAPTION, DecodingOptions.greedy(12));
        double ratio = alone.scores().get("visual_attention_ratio");
        assertThat(ratio).isStrictlyBetween(0.0, 1.0);
        List<List<ArmResult>> batched = TestModel.generator().generateBatch(
                List.of(request(LONG, DecodingOptions.greedy(12), 1), request(CAPTION, DecodingOptions.greedy(12), 1)),
                Cancellation.create());
        // left padding and other rows must not change a row's ratio
        assertThat(batched.get(1).get(0).scores().get("visual_attention_ratio"))
                .isCloseTo(ratio, org.assertj.core.data.Offset.offset(1e-4));
        ArmResult textOnly = TestModel.generator().generate(new GenerationRequest(null, CAPTION,
                DecodingOptions.greedy(4), List.of(ArmSpec.none())), Cancellation.create()).get(0);
        assertThat(textOnly.scores()).doesNotContainKey("visual_attention_ratio");
    }

    @Test
    void logprobsAreFiniteNonPositiveAndOnePerToken() {
        ArmResult r = one(CAPTION, DecodingOptions.greedy(12));
        assertThat(r.logprobs()).hasSize(r.tokens().length);
        for (float lp : r.logprobs()) {
            assertThat(Float.isFinite(lp)).isTrue();
            assertThat(lp).isLessThanOrEqualTo(0f);
        }
        assertThat(r.intervention()).isEqualTo("none");
        assertThat(r.latencyNanos()).isPositive();
    }

    @Test
    void maxNewTokensBoundsTheOutput() {
        ArmResult two = one(CAPTION, DecodingOptions.greedy(2));
        ArmResult twelve = one(CAPTION, DecodingOptions.greedy(12));
        assertThat(two.tokens().length).isLessThanOrEqualTo(2);
        assertThat(twelve.tokens()).startsWith(two.tokens());
    }

    @Test
    void stopStringEndsTheArmAndIsCutFromTheText() {
        ArmResult free = one(CAPTION, DecodingOptions.greedy(12));
        String[] words = free.text().split(" ");
        assertThat(words.length).as("caption long enough to stop inside: '%s'", free.text()).isGreaterThan(2);
        String stop = words[2];
        int at = free.text().indexOf(stop);
        ArmResult stopped = one(CAPTION, new DecodingOptions(12, 0, 0, 1, null, List.of(stop)));
        assertThat(stopped.text()).isEqualTo(free.text().substring(0, at));
        assertThat(stopped.tokens().length).isLessThan(free.tokens().length);
        assertThat(free.tokens()).startsWith(stopped.tokens());
    }

    @Test
    void seededSamplingIsReproducibleAndSeedDependent() {
        // a hot temperature, so that a trained model's confident caption still leaves the seed something to decide
        DecodingOptions a = new DecodingOptions(12, 4.0, 0, 1.0, 7L, List.of());
        int[] first = one(CAPTION, a).tokens();
        assertThat(one(CAPTION, a).tokens()).containsExactly(first);
        boolean anyDiffers = false;
        for (long seed = 8; seed < 16 && !anyDiffers; seed++) {
            anyDiffers = !java.util.Arrays.equals(first,
                    one(CAPTION, new DecodingOptions(12, 4.0, 0, 1.0, seed, List.of())).tokens());
        }
        assertThat(anyDiffers).isTrue();
    }

    @Test
    void consecutiveArmSeedsDrawArmIWithSeedPlusIWhileSharedArmsDrawAlike() {
        // hot, as above, so that the seed decides something in twelve tokens
        DecodingOptions shared = new DecodingOptions(12, 4.0, 0, 1.0, 7L, List.of());
        DecodingOptions consecutive = new DecodingOptions(12, 4.0, 0, 1.0, 7L, List.of(),
                DecodingOptions.ArmSeeds.CONSECUTIVE);
        List<ArmResult> alike = TestModel.generator().generate(request(CAPTION, shared, 3), Cancellation.create());
        List<ArmResult> apart = TestModel.generator().generate(request(CAPTION, consecutive, 3), Cancellation.create());
        for (int i = 0; i < 3; i++) {
            assertThat(alike.get(i).tokens()).containsExactly(alike.get(0).tokens());
            assertThat(apart.get(i).tokens()).as("arm %d", i)
                    .containsExactly(one(CAPTION, new DecodingOptions(12, 4.0, 0, 1.0, 7L + i, List.of())).tokens());
        }
        assertThat(apart.stream().map(r -> java.util.Arrays.toString(r.tokens())).distinct().count()).isGreaterThan(1);
    }

    @Test
    void requestWithoutImageDecodesTheTextOnlyPrompt() {
        ArmResult r = TestModel.generator().generate(new GenerationRequest(null, CAPTION, DecodingOptions.greedy(6),
                List.of(ArmSpec.none())), Cancellation.create()).get(0);
        assertThat(r.logprobs()).hasSize(r.tokens().length);
    }

    @Test
    void cancelledBeforeStartThrowsCancelled() {
        Cancellation c = Cancellation.create();
        c.cancel();
        assertThatThrownBy(() -> TestModel.generator().generate(request(CAPTION, DecodingOptions.greedy(8), 1), c))
                .isInstanceOf(CancelledException.class)
                .extracting(e -> ((SightlineException) e).code()).isEqualTo("cancelled");
    }

    @Test
    void cancelDuringDecodeStopsAtTheNextStep() {
        Cancellation c = Cancellation.create();
        int[] seen = {0};
        assertThatThrownBy(() -> TestModel.generator().generate(
                new GenerationRequest(TestModel.image("samples/scene-a.png"), CAPTION,
                        new DecodingOptions(50, 1.0, 0, 1.0, 3L, List.of()), List.of(ArmSpec.none())),
                c, (arm, token, lp, nanos) -> {
                    seen[0]++;
                    c.cancel();
                })).isInstanceOf(CancelledException.class);
        assertThat(seen[0]).isEqualTo(1);
    }

    @Test
    void unknownInterventionFailsBeforeAnyOnnxCallListingKnownNames() {
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-a.png"), CAPTION,
                DecodingOptions.greedy(4), List.of(ArmSpec.none(), new ArmSpec("vcdx", Map.of())));
        assertThatThrownBy(() -> TestModel.generator().generate(req, Cancellation.create()))
                .isInstanceOf(UnknownInterventionException.class)
                .hasMessageContaining("vcdx").hasMessageContaining("known: none");
    }

    @Test
    void unknownParameterOfNoneIsInvalidParams() {
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-a.png"), CAPTION,
                DecodingOptions.greedy(4), List.of(new ArmSpec("none", Map.of("alpha", 1.0))));
        assertThatThrownBy(() -> TestModel.generator().generate(req, Cancellation.create()))
                .isInstanceOf(InvalidParamsException.class)
                .satisfies(e -> assertThat(((InvalidParamsException) e).field()).isEqualTo("arms[0].params.alpha"));
    }

    @Test
    void imageOfTheWrongSizeIsInvalidParams() {
        GenerationRequest req = new GenerationRequest(new ImageInput(new float[3 * 4 * 4], 4, 4), CAPTION,
                DecodingOptions.greedy(4), List.of(ArmSpec.none()));
        assertThatThrownBy(() -> TestModel.generator().generate(req, Cancellation.create()))
                .isInstanceOf(InvalidParamsException.class).hasMessageContaining("image");
    }
}
