package io.sightline.intervention.pai;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PaiTest {

    private final InterventionRegistry registry = InterventionRegistry.of(new Pai(TestModel.bundle()));

    @Test
    void outOfRangeValuesNameTheParameter() {
        Map<String, Object> bad = Map.of("alpha", -0.1, "gamma", -1.0, "cutoff", 0.0, "start_layer", -1,
                "end_layer", 99);
        bad.forEach((key, value) -> assertThatThrownBy(() -> registry.bind(new ArmSpec("pai", Map.of(key, value)), "p"))
                .as(key).isInstanceOf(InvalidParamsException.class)
                .extracting(e -> ((InvalidParamsException) e).field()).isEqualTo("p." + key));
    }
}
