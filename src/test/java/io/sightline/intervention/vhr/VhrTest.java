package io.sightline.intervention.vhr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VhrTest {

    private final InterventionRegistry registry = InterventionRegistry.standard(TestModel.bundle());

    @Test
    void nonPositiveAlphaIsInvalidAndNamesAlpha() {
        assertThatThrownBy(() -> registry.bind(new ArmSpec("vhr", Map.of("alpha", 0)), "params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo("params.alpha"));
    }

    @Test
    void layerBeyondTheDecoderIsInvalidAndNamesLayers() {
        int depth = TestModel.bundle().dims().layers();
        assertThatThrownBy(() -> registry.bind(new ArmSpec("vhr", Map.of("layers", List.of(1, depth))), "params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo("params.layers"));
    }

    @Test
    void repeatedLayerIsInvalidAndNamesLayers() {
        assertThatThrownBy(() -> registry.bind(new ArmSpec("vhr", Map.of("layers", List.of(1, 1))), "params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo("params.layers"));
    }
}
