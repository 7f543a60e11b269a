package io.sightline.intervention.causalmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.engine.sampling.SplitMix64;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CausalMmTest {

    private final InterventionRegistry registry = InterventionRegistry.standard(TestModel.bundle());

    @Test
    void negativeGammaIsInvalidAndNamesGamma() {
        assertInvalid(Map.of("gamma", -0.5), "params.gamma");
    }

    @Test
    void epsilonAboveOneIsInvalidAndNamesEpsilon() {
        assertInvalid(Map.of("epsilon", 1.5), "params.epsilon");
    }

    @Test
    void unknownLevelIsInvalidAndNamesLevel() {
        assertInvalid(Map.of("level", "audio"), "params.level");
    }

    @Test
    void permutationDrawsAsTheReference() {
        // onnx-models/tools/methods/common.py: SplitMix64(3).permutation(8)
        assertThat(CausalMm.permutation(8, new SplitMix64(3))).containsExactly(2, 5, 1, 6, 7, 3, 4, 0);
    }

    @Test
    void patchWeightsResizeAsTorchBilinearAndAverageHeads() {
        // torch: a = arange(50).view(2,5,5) ** 1.5 / 10; F.interpolate(a[None], (2,3), bilinear,
        // align_corners=False)[0].mean(0).flatten()
        float[][] maps = new float[2][25];
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 25; i++) {
                maps[h][i] = (float) (Math.pow(h * 25 + i, 1.5) / 10);
            }
        }
        float[] w = CausalMm.patchWeights(maps, new int[] {2, 3});
        float[] torch = {8.326875f, 9.271791f, 10.29086f, 16.82038f, 18.15321f, 19.52964f};
        for (int n = 0; n < torch.length; n++) {
            assertThat(w[n]).as("patch %d", n).isCloseTo(torch[n], offset(1e-4f));
        }
    }

    private void assertInvalid(Map<String, Object> params, String field) {
        assertThatThrownBy(() -> registry.bind(new ArmSpec("causalmm", params), "params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo(field));
    }
}
