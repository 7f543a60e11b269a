package io.sightline.intervention.gift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GiftTest {

    private static final InterventionRegistry REGISTRY = InterventionRegistry.standard(TestModel.bundle());

    static Stream<Arguments> outOfRange() {
        return Stream.of(
                Arguments.of("alpha", -1.0),
                Arguments.of("saliency_layer", -1),
                Arguments.of("saliency_layer", 4),
                Arguments.of("enhance_layers", List.of(2, 2)),
                Arguments.of("enhance_layers", List.of(1.5)),
                Arguments.of("enhance_layers", List.of(4)),
                Arguments.of("head_fraction", 0.0),
                Arguments.of("head_fraction", 1.5),
                Arguments.of("head_fraction", 0.1));      // floor(6 * 0.1) = 0 heads
    }

    @ParameterizedTest(name = "{0} = {1} is refused")
    @MethodSource("outOfRange")
    void outOfRangeValueNamesTheParameter(String key, Object value) {
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("gift", Map.of(key, value)), "params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo("params." + key));
    }
}
