package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class OrtVlmTest {

    @Test
    void requestingCudaGivesAWorkingEngineFallingBackToCpuWithoutCuda() {
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-c.png"), "describe the image .",
                DecodingOptions.greedy(8), List.of(ArmSpec.none()));
        ArmResult cpu = TestModel.generator().generate(req, Cancellation.create()).get(0);
        try (OrtVlm cuda = OrtVlm.open(TestModel.bundle(), new EngineOptions("cuda", 1))) {
            if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                assertThat(cuda.executionProvider()).isEqualTo("cpu");
            }
            ArmResult r = new Generator(cuda, TestModel.tokenizer(), InterventionRegistry.standard(TestModel.bundle()))
                    .generate(req, Cancellation.create()).get(0);
            if (cuda.executionProvider().equals("cpu")) {
                assertThat(r.tokens()).containsExactly(cpu.tokens());
            } else {
                assertThat(r.tokens()).isNotEmpty();
            }
        }
    }

    /**
     * Closing the model while another thread decodes (a shutdown with a request in flight) must neither free a
     * session under a run (a native crash) nor leave the caller hanging: the run in flight ends, and every later run
     * fails as an engine failure that says the model is closed.
     */
    @Test
    void closingWhileAnotherThreadDecodesEndsItWithAnEngineFailure() throws Exception {
        OrtVlm vlm = OrtVlm.open(TestModel.bundle(), new EngineOptions("cpu", 1));
        Generator generator = new Generator(vlm, TestModel.tokenizer(), InterventionRegistry.standard(TestModel.bundle()));
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-c.png"), "describe the image .",
                DecodingOptions.greedy(32), List.of(ArmSpec.none(), new ArmSpec("vcd", Map.of())));
        AtomicInteger done = new AtomicInteger();
        AtomicReference<RuntimeException> ended = new AtomicReference<>();
        Thread decoding = new Thread(() -> {
            try {
                while (true) {
                    generator.generate(req, Cancellation.create());
                    done.incrementAndGet();
                }
            } catch (RuntimeException e) {
                ended.set(e);
            }
        });
        decoding.start();
        while (done.get() < 2) {
            Thread.sleep(5);
        }
        vlm.close();
        decoding.join(30_000);
        assertThat(decoding.isAlive()).isFalse();
        assertThat(ended.get()).isInstanceOf(EngineFailureException.class).hasMessageContaining("the model is closed");
    }

    /**
     * Every smaller decoder graph (decoder_plain, model.json's variants) gives decoder.onnx's outputs when the controls
     * it takes are set (random, non-neutral) and the ones it lacks are neutral: a prefill with left padding and P > 0.
     */
    @Test
    void everyDecoderVariantMatchesTheFullDecoderOnTheControlsItTakes() throws Exception {
        OrtVlm vlm = TestModel.vlm();
        ModelDims d = vlm.bundle().dims();
        OrtEnvironment env = vlm.env();
        List<OrtVlm.DecoderGraph> graphs = vlm.decoders();
        OrtVlm.DecoderGraph full = graphs.get(graphs.size() - 1);
        assertThat(full.name()).isEqualTo("decoder");
        assertThat(graphs).hasSize(vlm.bundle().decoderVariants().size() + (vlm.bundle().decoderPlain() == null ? 1 : 2));
        int b = 2;
        int t = 5;
        int p = 3;
        int s = p + t;
        Random rnd = new Random(7);
        RequestArena arena = new RequestArena();
        FloatBuffer embeds = arena.floats("e", (long) b * t * d.hidden());
        FloatBuffer past = arena.floats("kv", (long) d.layers() * 2 * b * d.heads() * p * d.headDim());
        LongBuffer pos = arena.longs("pos", (long) b * t);
        FloatBuffer keyMask = arena.floats("km", (long) b * s);
        fill(embeds, rnd, 1f);
        fill(past, rnd, 1f);
        for (int r = 0; r < b; r++) {
            for (int k = 0; k < s; k++) {
                keyMask.put(r * s + k, r == 1 && k < 2 ? 0f : 1f);
            }
            for (int q = 0; q < t; q++) {
                pos.put(r * t + q, Math.max(0, p + q - (r == 1 ? 2 : 0)));
            }
        }
        for (OrtVlm.DecoderGraph g : graphs.subList(0, graphs.size() - 1)) {
            try (Controls c = Controls.neutral(d, b, t, s, arena, ref -> 0);
                 TensorScope scope = new TensorScope()) {
                randomise(c, g.inputs(), rnd);
                Map<String, OnnxTensor> base = Map.of(
                        "inputs_embeds", scope.add(OnnxTensor.createTensor(env, embeds, new long[] {b, t, d.hidden()})),
                        "position_ids", scope.add(OnnxTensor.createTensor(env, pos, new long[] {b, t})),
                        "key_mask", scope.add(OnnxTensor.createTensor(env, keyMask, new long[] {b, s})),
                        "past_kv", scope.add(OnnxTensor.createTensor(env, past,
                                new long[] {d.layers(), 2, b, d.heads(), p, d.headDim()})));
                Map<String, OnnxTensor> small = new HashMap<>(base);
                small.putAll(c.tensors(env, g.inputs()));
                Map<String, OnnxTensor> all = new HashMap<>(base);
                all.putAll(c.tensors(env));
                try (OrtSession.Result a = g.session().run(small, g.outputs());
                     OrtSession.Result f = full.session().run(all, g.outputs())) {
                    for (String out : g.outputs()) {
                        float[] x = floats(a, out);
                        float[] y = floats(f, out);
                        assertThat(x).as(g.name() + " " + out).containsExactly(y, offset(1e-5f));
                    }
                }
            }
        }
    }

    private static float[] floats(OrtSession.Result r, String name) {
        FloatBuffer buf = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
        float[] out = new float[buf.remaining()];
        buf.get(out);
        return out;
    }

    private static void fill(FloatBuffer buf, Random rnd, float scale) {
        for (int i = 0; i < buf.limit(); i++) {
            buf.put(i, rnd.nextFloat() * scale);
        }
    }

    /** Non-neutral values for every control input among {@code names}, within the ABI's constraints. */
    private static void randomise(Controls c, Set<String> names, Random rnd) {
        int h = c.d.heads();
        if (names.contains(Controls.ROW_MASK)) {
            c.rowMask.put(0, 0f);
        }
        if (names.contains(Controls.VISUAL_MASK)) {
            for (int i = 0; i < c.visualMask.limit(); i++) {
                c.visualMask.put(i, rnd.nextBoolean() ? 1f : 0f);
            }
        }
        if (names.contains(Controls.ATTN_BIAS)) {
            fill(c.attnBias, rnd, 0.5f);
        }
        if (names.contains(Controls.AMP)) {
            fill(c.amp, rnd, 0.5f);
            fill(c.ampMask, rnd, 1f);
        }
        if (names.contains(Controls.HEAD_SCALE)) {
            fill(c.headScale, rnd, 2f);
        }
        if (names.contains(Controls.REDIST)) {
            fill(c.redist, rnd, 1f);
            for (int i = 0; i < c.redistGate.limit(); i += 2) {
                c.redistGate.put(i, rnd.nextFloat() * 0.2f);
                c.redistGate.put(i + 1, 0.5f + rnd.nextFloat());
            }
            for (int i = 0; i < c.sinkMask.limit(); i++) {
                boolean sink = rnd.nextFloat() < 0.3f;
                c.sinkMask.put(i, sink ? 1f : 0f);
                c.targetMask.put(i, !sink && rnd.nextBoolean() ? 1f : 0f);
            }
        }
        if (names.contains(Controls.FOCUS_K)) {
            fill(c.focusLogw, rnd, 1f);
            for (int i = 0; i < c.focusK.limit(); i++) {
                c.focusK.put(i, rnd.nextInt(h / 2 + 1));
            }
            for (int i = 0; i < c.queryMask.limit(); i++) {
                c.queryMask.put(i, rnd.nextBoolean() ? 1f : 0f);
            }
        }
        if (names.contains(Controls.PROBE_LAYER)) {
            c.probeLayer(1, "test");
        }
    }

    @Test
    void closeIsIdempotent() {
        OrtVlm vlm = OrtVlm.open(TestModel.bundle(), new EngineOptions("cpu", 1));
        vlm.close();
        vlm.close();
    }

    @Test
    void missingModelDirectoryIsAnEngineFailureNamingTheFile() {
        assertThatThrownBy(() -> ModelBundle.load(Path.of("no-such-model")))
                .isInstanceOf(EngineFailureException.class).hasMessageContaining("model.json");
    }

    @Test
    void bundleReadsTheShippedModelJson() {
        ModelBundle b = TestModel.bundle();
        assertThat(b.dims().imageTokens()).isEqualTo(b.grid()[0] * b.grid()[1]);
        assertThat(b.dims().heads() * b.dims().headDim()).isEqualTo(b.dims().hidden());
        assertThat(b.promptTemplate()).contains("{prompt}").contains(b.specialTokens().image());
        assertThat(b.templateParts()[0] + "{prompt}" + b.templateParts()[1]).isEqualTo(b.promptTemplate());
        assertThat(b.sinkDims()).isNotEmpty();
    }

    @Test
    void unknownExecutionProviderIsInvalidParams() {
        assertThatThrownBy(() -> new EngineOptions("tpu", 0)).isInstanceOf(InvalidParamsException.class)
                .hasMessageContaining("execution_provider");
    }
}
