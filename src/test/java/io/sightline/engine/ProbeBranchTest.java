package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Steerer;
import io.sightline.intervention.none.None;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** PROBE branches: an unedited prefill of their own, in a call before the prefill, then gone. */
class ProbeBranchTest {

    /** Records the calls its afterCall sees and layer 0 head 0's last-row attention of the probe and base rows. */
    static final class Recorder implements Intervention<Recorder.Params> {
        record Params() {
        }

        final List<Integer> calls = new ArrayList<>();
        float[] probeAttn;
        float[] prefillAttn;

        @Override
        public String name() {
            return "recorder";
        }

        @Override
        public String paper() {
            return "none";
        }

        @Override
        public String summary() {
            return "Records the probe call.";
        }

        @Override
        public Params defaults() {
            return new Params();
        }

        @Override
        public Footprint footprint(Params p) {
            return new Footprint(List.of(new Branch("probe", Branch.InputEdit.SAME, Branch.Lifetime.PROBE)), Set.of(),
                    Set.of(ProbeKind.ATTN_LAST));
        }

        @Override
        public Steerer open(Params p, ArmView arm) {
            return new Steerer() {
                @Override
                public void afterCall(Step step, Probes in) {
                    calls.add(step.index());
                    if (step.isProbe()) {
                        probeAttn = in.attnLast(arm.branch("probe"), 0, 0).copy();
                    } else if (step.isPrefill()) {
                        prefillAttn = in.attnLast(arm.base(), 0, 0).copy();
                    }
                }
            };
        }
    }

    @Test
    void probeRowsRunAloneBeforeThePrefillAndDecodeLikeTheBaseRow() {
        Recorder recorder = new Recorder();
        Generator gen = TestModel.generator(InterventionRegistry.of(None.INSTANCE, recorder));
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-a.png"), "describe the image .",
                DecodingOptions.greedy(6), List.of(ArmSpec.none(), new ArmSpec("recorder", Map.of())));
        List<ArmResult> r = gen.generate(req, Cancellation.create());
        assertThat(r.get(1).tokens()).containsExactly(r.get(0).tokens());
        assertThat(recorder.calls.get(0)).isEqualTo(-1);
        assertThat(recorder.calls.subList(1, recorder.calls.size())).doesNotContain(-1).startsWith(0, 1);
        assertThat(recorder.probeAttn).containsExactly(recorder.prefillAttn, offset(1e-6f));
    }
}
