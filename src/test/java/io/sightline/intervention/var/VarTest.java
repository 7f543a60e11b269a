package io.sightline.intervention.var;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VarTest {

    private static final InterventionRegistry REGISTRY = InterventionRegistry.standard(TestModel.bundle());

    @ParameterizedTest(name = "{0} = {1} is refused")
    @CsvSource({
            "rho, 1.5", "rho, -0.1", "p, 1.01", "p, -1", "summ, 2", "start_layer, -1", "end_layer, 0", "end_layer, 5"})
    void outOfRangeValueNamesTheParameter(String key, double value) {
        Object v = key.endsWith("layer") ? (Object) (int) value : (Object) value;
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("var", Map.of(key, v)), "params"))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo("params." + key));
    }
}
