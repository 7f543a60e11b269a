package io.sightline.intervention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.SightlineException;
import io.sightline.engine.TestModel;
import io.sightline.engine.UnknownInterventionException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InterventionRegistryTest {

    /** A parameter record shaped like the methods' (paper symbols, validation in the compact constructor). */
    record Sample(double alpha, int noiseStep, boolean adaptive, Mode mode, List<Integer> layers) {
        enum Mode { SOFT, HARD }

        Sample {
            if (alpha < 0) {
                throw new InvalidParamsException("alpha", "must be >= 0");
            }
        }
    }

    private static final Sample DEFAULTS = new Sample(1.0, 500, true, Sample.Mode.SOFT, List.of(1, 2));

    @Test
    void standardRegistryKnowsNone() {
        InterventionRegistry r = InterventionRegistry.standard(TestModel.bundle());
        assertThat(r.known()).startsWith("none");
        BoundArm arm = r.bind(ArmSpec.none(), "arms[0].params");
        assertThat(arm.footprint()).isEqualTo(Footprint.none());
        assertThat(arm.params()).isEmpty();
    }

    @Test
    void unknownNameThrowsWithCodeAndKnownNames() {
        assertThatThrownBy(() -> InterventionRegistry.standard(TestModel.bundle()).get("vcdx"))
                .isInstanceOf(UnknownInterventionException.class)
                .hasMessageStartingWith("unknown intervention 'vcdx'; known: none, ")
                .extracting(e -> ((SightlineException) e).code()).isEqualTo("unknown-intervention");
    }

    @Test
    void requestValuesOverlayDefaultsAndKeysAreSnakeCase() {
        Sample s = Params.overlay(DEFAULTS, Map.of("noise_step", 999, "mode", "hard", "layers", List.of(3)), "p");
        assertThat(s).isEqualTo(new Sample(1.0, 999, true, Sample.Mode.HARD, List.of(3)));
        assertThat(Params.toMap(s)).containsEntry("noise_step", 999).containsEntry("mode", "hard");
        assertThat(Params.describe(DEFAULTS)).extracting(Params.Spec::name)
                .containsExactly("alpha", "noise_step", "adaptive", "mode", "layers");
    }

    @Test
    void badValuesAreInvalidParamsNamingTheField() {
        record Case(Map<String, Object> values, String field) {
        }
        for (Case c : List.of(
                new Case(Map.of("alpha", -1.0), "p.alpha"),
                new Case(Map.of("alpha", "big"), "p.alpha"),
                new Case(Map.of("noise_step", 1.5), "p.noise_step"),
                new Case(Map.of("adaptive", 1), "p.adaptive"),
                new Case(Map.of("mode", "medium"), "p.mode"),
                new Case(Map.of("beta", 1), "p.beta"))) {
            assertThatThrownBy(() -> Params.overlay(DEFAULTS, c.values(), "p"))
                    .as(c.toString()).isInstanceOf(InvalidParamsException.class)
                    .satisfies(e -> assertThat(((InvalidParamsException) e).field()).isEqualTo(c.field()));
        }
    }

    @Test
    void duplicateNamesAreRefused() {
        assertThatThrownBy(() -> InterventionRegistry.of(io.sightline.intervention.none.None.INSTANCE,
                io.sightline.intervention.none.None.INSTANCE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void everyDeclaredRangeIsEnforcedWithTheParameterNamed() {
        InterventionRegistry r = InterventionRegistry.standard(TestModel.bundle());
        int checked = 0;
        for (String name : r.known()) {
            for (Params.Spec s : Params.describe(r.get(name).defaults())) {
                Range range = s.range();
                if (range == null) {
                    continue;
                }
                List<Object> outside = new java.util.ArrayList<>();
                if (!Double.isInfinite(range.min())) {
                    outside.add(beyond(s, range.min(), range.minExclusive(), -1));
                }
                if (!Double.isInfinite(range.max())) {
                    outside.add(beyond(s, range.max(), range.maxExclusive(), 1));
                }
                for (Object v : outside) {
                    Map<String, Object> values = new java.util.HashMap<>();
                    values.put(s.name(), v);
                    assertThatThrownBy(() -> r.bind(new ArmSpec(name, values), "arms[0].params"))
                            .as("%s.%s = %s", name, s.name(), v)
                            .isInstanceOf(InvalidParamsException.class)
                            .extracting(e -> ((InvalidParamsException) e).field())
                            .isEqualTo("arms[0].params." + s.name());
                    checked++;
                }
            }
        }
        assertThat(checked).isPositive();
    }

    /** The bound itself when it is exclusive, else the nearest value past it. */
    private static Object beyond(Params.Spec s, double bound, boolean exclusive, int direction) {
        if (s.type().equals("integer")) {
            return (long) bound + (exclusive ? 0 : direction);
        }
        return exclusive ? bound : bound + direction * Math.max(1e-6, Math.abs(bound) * 1e-6);
    }
}
