package io.sightline.intervention.vcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.intervention.Params;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class VcdTest {

    @ParameterizedTest(name = "{0} = {1} is rejected")
    @CsvSource({
            "alpha, -0.5",
            "beta, 0",
            "beta, 1.5",
            "noise_step, -1",
            "noise_step, 1000",
    })
    void outOfRangeValuesAreInvalidParamsNamingTheParameter(String key, double value) {
        Object v = key.equals("noise_step") ? (Object) (int) value : (Object) value;
        assertThatThrownBy(() -> Params.overlay(new Vcd().defaults(), Map.of(key, v), "arms[0].params"))
                .isInstanceOf(InvalidParamsException.class)
                .hasMessageContaining(key);
    }

    @Test
    void noiseCoefficientsAtStep500EqualTheReferenceBitForBit() {
        // methods/vcd.py noise_coefficients(500), recorded in the goldens' intermediates
        assertThat(Vcd.noiseCoefficients(500)).containsExactly(0.8630171064602814, 0.5051746964733322);
    }
}
