package io.sightline.intervention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.Slot;
import io.sightline.engine.TestModel;
import io.sightline.intervention.m3id.M3id;
import io.sightline.intervention.none.None;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The composition rule of {@link Composition}, on bound arms (no ONNX call). */
class CompositionTest {

    /** A test intervention that writes the given slots and has one branch. */
    private record Writer(String name, Set<Slot> writes) implements Intervention<Writer.Params> {
        record Params(double strength) {
        }

        @Override
        public String paper() {
            return "";
        }

        @Override
        public String summary() {
            return "test";
        }

        @Override
        public Params defaults() {
            return new Params(1);
        }

        @Override
        public Footprint footprint(Params p) {
            return new Footprint(List.of(new Branch("extra", Branch.InputEdit.SAME, Branch.Lifetime.WHOLE)), writes,
                    Set.of(ProbeKind.ATTN_LAST));
        }

        @Override
        public Steerer open(Params p, ArmView arm) {
            return new Steerer() {
            };
        }
    }

    private static final InterventionRegistry REGISTRY = InterventionRegistry.of(None.INSTANCE,
            new M3id(TestModel.bundle()), new Writer("amp1", Set.of(Slot.AMP, Slot.HEAD_SCALE, Slot.LOGITS)),
            new Writer("amp2", Set.of(Slot.AMP)), new Writer("bias", Set.of(Slot.ATTN_BIAS, Slot.HEAD_SCALE)));

    @Test
    void partsKeepTheirBranchesUnderTheirNameAndTheirParamsUnderTheirKey() {
        BoundArm arm = REGISTRY.bind(new ArmSpec("m3id+amp1", Map.of("amp1", Map.of("strength", 2.0))), "arms[0].params");
        assertThat(arm.intervention()).isEqualTo("m3id+amp1");
        assertThat(arm.footprint().branches()).extracting(Branch::name).containsExactly("m3id/text-only", "amp1/extra");
        assertThat(arm.footprint().writes()).contains(Slot.LOGITS, Slot.AMP, Slot.HEAD_SCALE);
        assertThat(arm.params()).containsOnlyKeys("m3id", "amp1");
        assertThat(((Map<?, ?>) arm.params().get("amp1")).get("strength")).isEqualTo(2.0);
        assertThat(((Map<?, ?>) arm.params().get("m3id")).get("lam")).isEqualTo(0.02);
    }

    @Test
    void stackableSlotsAndChainedLogitsCompose() {
        assertThat(REGISTRY.bind(new ArmSpec("amp1+bias", Map.of()), "p").footprint().writes())
                .contains(Slot.HEAD_SCALE, Slot.ATTN_BIAS, Slot.AMP);
        assertThat(REGISTRY.bind(new ArmSpec("amp1+m3id", Map.of()), "p").footprint().writes()).contains(Slot.LOGITS);
    }

    @Test
    void twoWritersOfAnExclusiveSlotCannotCompose() {
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("amp1+amp2", Map.of()), "arms[1].params"))
                .isInstanceOf(InvalidParamsException.class)
                .hasMessageContaining("cannot compose amp1+amp2").hasMessageContaining("amp");
    }

    @Test
    void badCompositionsNameWhatIsWrong() {
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("m3id+m3id", Map.of()), "arms[0].params"))
                .isInstanceOf(InvalidParamsException.class)
                .extracting(e -> ((InvalidParamsException) e).field()).isEqualTo("arms[0].intervention");
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("m3id+amp1", Map.of("lam", 0.1)), "arms[0].params"))
                .isInstanceOf(InvalidParamsException.class)
                .extracting(e -> ((InvalidParamsException) e).field()).isEqualTo("arms[0].params.lam");
        assertThatThrownBy(() -> REGISTRY.bind(new ArmSpec("m3id+amp1", Map.of("m3id", Map.of("lam", -1))), "arms[0].params"))
                .isInstanceOf(InvalidParamsException.class)
                .extracting(e -> ((InvalidParamsException) e).field()).isEqualTo("arms[0].params.m3id.lam");
    }
}
