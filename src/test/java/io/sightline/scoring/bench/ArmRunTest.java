package io.sightline.scoring.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.engine.Generator;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.Slot;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Steerer;
import io.sightline.intervention.none.None;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArmRunTest {

    /** Fails every request it is part of, as a broken method would. */
    static final class Throwing implements Intervention<Throwing.Params> {
        record Params() {
        }

        @Override
        public String name() {
            return "throwing";
        }

        @Override
        public String paper() {
            return "";
        }

        @Override
        public String summary() {
            return "test intervention that always throws";
        }

        @Override
        public Params defaults() {
            return new Params();
        }

        @Override
        public Footprint footprint(Params p) {
            return new Footprint(List.of(), EnumSet.noneOf(Slot.class), EnumSet.noneOf(ProbeKind.class));
        }

        @Override
        public Steerer open(Params p, ArmView arm) {
            throw new IllegalStateException("boom");
        }
    }

    private static final List<ArmRun.Prompt> PROMPTS = List.of(
            new ArmRun.Prompt(TestModel.image("samples/scene-a.png"), "is there a circle in the image ?", 1),
            new ArmRun.Prompt(TestModel.image("samples/scene-b.png"), "describe the image .", 2));

    @Test
    void aThrowingArmCountsItsFailuresAndLeavesOtherArmsAlone() {
        Generator gen = TestModel.generator(InterventionRegistry.of(None.INSTANCE, new Throwing()));
        ArmRun greedy = new ArmRun("greedy", "none", false);
        ArmRun broken = new ArmRun("throwing", "throwing", false);
        for (ArmRun arm : List.of(broken, greedy)) {
            arm.run(gen, "task", 2, 0, PROMPTS, 4);
        }
        assertThat(broken.failures).isEqualTo(2);
        assertThat(broken.failedBatches).isEqualTo(1);
        assertThat(broken.firstFailure).contains("boom");
        assertThat(broken.answers("task")).containsExactly(null, null);
        assertThat(broken.requests).isZero();
        assertThat(greedy.failures).isZero();
        assertThat(greedy.answers("task")).doesNotContainNull();
        assertThat(greedy.requests).isEqualTo(2);
        assertThat(greedy.tokens).isPositive();
        assertThat(greedy.wallNanos).isPositive();
    }

    @Test
    void samplingArmIsReproducibleWithTheItemSeed() {
        Generator gen = TestModel.generator();
        ArmRun a = new ArmRun("sample-t1", "none", true);
        ArmRun b = a.fresh();
        a.run(gen, "task", 2, 0, PROMPTS, 8);
        b.run(gen, "task", 2, 0, PROMPTS, 8);
        assertThat(a.answers("task")).containsExactly(b.answers("task"));
    }
}
