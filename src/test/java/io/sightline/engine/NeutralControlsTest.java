package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Steerer;
import io.sightline.intervention.none.None;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** STYLE.md rule 5: writing every slot's no-op value must decode exactly like {@code none}. */
class NeutralControlsTest {

    /** Writes the documented no-op value of every decoder and vision slot, on every call. */
    static final class ExplicitNoOp implements Intervention<ExplicitNoOp.Params> {
        record Params() {
        }

        @Override
        public String name() {
            return "noop";
        }

        @Override
        public String paper() {
            return "";
        }

        @Override
        public String summary() {
            return "test intervention";
        }

        @Override
        public Params defaults() {
            return new Params();
        }

        @Override
        public Footprint footprint(Params p) {
            return new Footprint(List.of(new Branch("text-only", Branch.InputEdit.TEXT_ONLY, Branch.Lifetime.WHOLE)),
                    EnumSet.of(Slot.ATTN_BIAS, Slot.HEAD_SCALE, Slot.AMP, Slot.MIX, Slot.REDIST, Slot.FOCUS, Slot.PAIR,
                            Slot.PATCH_SCALE, Slot.VISION_MIX, Slot.LOGITS), EnumSet.noneOf(ProbeKind.class));
        }

        @Override
        public Steerer open(Params p, ArmView arm) {
            ModelDims d = arm.model().dims();
            return new Steerer() {
                @Override
                public void beforeVision(ArmVisionControls out) {
                    int n1 = d.imageTokens() + 1;
                    for (int j = 0; j < d.imageTokens(); j++) {
                        out.image().scalePatch(j, 1f);
                    }
                    out.image().mix(0, 0, 0f, new float[n1 * n1]);
                }

                @Override
                public void beforeCall(Step step, ArmControls out) {
                    KeySpans sp = out.spans(arm.base());
                    RowControls row = out.row(arm.base());
                    for (int l = 0; l < d.layers(); l++) {
                        for (int h = 0; h < d.heads(); h++) {
                            row.addBias(l, h, sp.all(), 0f).scaleHead(l, h, 1f).amplify(l, h, 0f, sp.image())
                                    .mix(l, h, 0f, MixMode.UNIFORM, null)
                                    .redistribute(l, h, 0f, 0f, 1f, sp.image(), sp.bos(), sp.question());
                        }
                        row.focus(l, 0, new float[sp.keys()], sp.image(), sp.question());
                        row.pairWith(arm.branch("text-only"), l, 1f);
                    }
                }

                @Override
                public void combine(Step step, ArmLogits io) {
                    // reading the branch without folding it in leaves the base logits as they are
                    io.branch("text-only").get(0);
                }
            };
        }
    }

    @Test
    void everySlotAtItsNoOpValueDecodesExactlyLikeNone() {
        Generator g = TestModel.generator(InterventionRegistry.of(None.INSTANCE, new ExplicitNoOp()));
        for (DecodingOptions o : List.of(DecodingOptions.greedy(12), new DecodingOptions(12, 1.0, 0, 0.9, 3L, List.of()))) {
            List<ArmResult> r = g.generate(new GenerationRequest(TestModel.image("samples/scene-b.png"),
                    "describe the image .", o, List.of(ArmSpec.none(), new ArmSpec("noop", Map.of()))),
                    Cancellation.create());
            assertThat(r.get(1).tokens()).containsExactly(r.get(0).tokens());
            assertThat(r.get(1).logprobs()).containsExactly(r.get(0).logprobs());
        }
    }

    /** A call of only {@code none} arms runs decoder_plain.onnx; the same request through decoder.onnx must agree. */
    @Test
    void plainDecoderDecodesExactlyLikeTheNeutralFullDecoder() {
        org.junit.jupiter.api.Assumptions.assumeTrue(TestModel.bundle().decoderPlain() != null,
                "the model under test ships no decoder_plain.onnx");
        Generator g = TestModel.generator(InterventionRegistry.of(None.INSTANCE, new ExplicitNoOp()));
        for (String image : List.of("samples/scene-a.png", "samples/scene-c.png")) {
            GenerationRequest plain = new GenerationRequest(TestModel.image(image), "describe the image .",
                    DecodingOptions.greedy(16), List.of(ArmSpec.none()));
            GenerationRequest full = new GenerationRequest(TestModel.image(image), "describe the image .",
                    DecodingOptions.greedy(16), List.of(new ArmSpec("noop", Map.of())));
            ArmResult a = g.generate(plain, Cancellation.create()).get(0);
            ArmResult b = g.generate(full, Cancellation.create()).get(0);
            assertThat(b.tokens()).containsExactly(a.tokens());
            assertThat(b.logprobs()).containsExactly(a.logprobs(), org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    @Test
    void writingASlotOutsideTheFootprintIsRefused() {
        ModelDims d = TestModel.bundle().dims();
        RowRef r = new RowRef(0, RowRef.BASE);
        try (Controls c = Controls.neutral(d, 1, 4, 4, new RequestArena(), ref -> 0)) {
            ArmControls arm = new ArmControls(c, 0, "vcd", EnumSet.of(Slot.LOGITS), ref -> null);
            assertThatThrownBy(() -> arm.row(r).scaleHead(0, 0, 2f))
                    .isInstanceOf(ControlConflictException.class).hasMessageContaining("HEAD_SCALE");
            assertThatThrownBy(() -> arm.row(new RowRef(1, RowRef.BASE)))
                    .isInstanceOf(ControlConflictException.class);
        }
    }

    @Test
    void secondWriterOfAnExclusiveSlotConflictsAndStackableSlotsCombine() {
        ModelDims d = TestModel.bundle().dims();
        RowRef r = new RowRef(0, RowRef.BASE);
        BitSet keys = new BitSet();
        keys.set(2);
        try (Controls c = Controls.neutral(d, 1, 4, 4, new RequestArena(), ref -> 0)) {
            c.row(r, "a").addBias(0, 0, 2, 0.5f).scaleHead(1, 1, 2f).amplify(0, 0, 0.5f, keys);
            c.row(r, "b").addBias(0, 0, 2, 0.25f).scaleHead(1, 1, 3f);
            assertThat(c.attnBias.get(2)).isEqualTo(0.75f);
            assertThat(c.headScale.get(d.heads() + 1)).isEqualTo(6f);
            assertThatThrownBy(() -> c.row(r, "b").amplify(0, 1, 0.5f, keys))
                    .isInstanceOf(ControlConflictException.class)
                    .hasMessageContaining("AMP").hasMessageContaining("a").hasMessageContaining("b");
            assertThatThrownBy(() -> c.row(r, "a").addBias(d.layers(), 0, 0, 1f))
                    .isInstanceOf(InvalidParamsException.class);
        }
    }

    @Test
    void neutralControlsHoldTheAbiIdentityValues() {
        ModelDims d = TestModel.bundle().dims();
        try (Controls c = Controls.neutral(d, 2, 3, 5, new RequestArena(), ref -> 0)) {
            assertThat(c.rowMask.get(5)).isEqualTo(1f);
            assertThat(c.headScale.get(0)).isEqualTo(1f);
            assertThat(c.pairRow.get(1)).isEqualTo(-1L);
            assertThat(c.pairAlpha.get(0)).isEqualTo(1f);
            assertThat(c.mixPerm.get(5 + 4)).isEqualTo(4L);
            assertThat(c.attnBias.get(c.attnBias.limit() - 1)).isEqualTo(0f);
            assertThat(c.focusK.get(0)).isZero();
        }
    }
}
