package io.sightline.intervention.carve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CarveTest {

    private static final InterventionRegistry REGISTRY = InterventionRegistry.standard(TestModel.bundle());

    static List<Object[]> invalid() {
        return List.of(
                new Object[] {"keep_ratio", 0.0},
                new Object[] {"keep_ratio", 1.5},
                new Object[] {"lam", 0.0},
                new Object[] {"min_regions", 0},
                new Object[] {"region_fraction", -0.1},
                new Object[] {"probe_tokens", 0},
                new Object[] {"general_prompt", " "},
                new Object[] {"layers", List.of()},
                new Object[] {"layers", List.of(2, 2)},
                new Object[] {"layers", List.of(-1)},
                new Object[] {"layers", List.of(4)},            // the shipped model has 4 decoder layers
                new Object[] {"two_images", true},              // the code's [original, refined] prompt: not served
                new Object[] {"reprocess_full_sequence", true});
    }

    @ParameterizedTest(name = "{0} = {1} is refused")
    @MethodSource("invalid")
    void outOfRangeValueNamesTheParameter(String name, Object value) {
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("carve", Map.of(name, value)), "arms[0].params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo("arms[0].params." + name));
    }
}
