package io.sightline.intervention.var;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.Params;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VarTest {

    @ParameterizedTest(name = "{0} = {1} is refused")
    @CsvSource({
            "rho, 1.5", "rho, -0.1", "p, 1.01", "p, -1", "summ, 2", "start_layer, -1", "end_layer, 0", "end_layer, 5"})
    void outOfRangeValueNamesTheParameter(String key, double value) {
        Var var = new Var(TestModel.bundle());
        Object v = key.endsWith("layer") ? (Object) (int) value : (Object) value;
        assertThatThrownBy(() -> var.footprint(Params.overlay(var.defaults(), Map.of(key, v), "params")))
                .isInstanceOfSatisfying(InvalidParamsException.class, e -> assertThat(e.field()).isEqualTo(key));
    }
}
