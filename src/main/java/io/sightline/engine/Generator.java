package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sightline.engine.RowPlan.Arm;
import io.sightline.engine.RowPlan.Row;
import io.sightline.engine.sampling.Sampler;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Prelude;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Arrays;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link GenerationRequest}: the image once per distinct vision variant, then every arm's rows prefill and
 * decode together, one decoder call per step (STYLE.md §2.4). Blocking; safe to call from several threads at once
 * (each call has its own arena, KV cache and run options).
 */
public final class Generator {

    private static final Logger log = LoggerFactory.getLogger(Generator.class);

    private final OrtVlm model;
    private final Tokenizer tokenizer;
    private final InterventionRegistry registry;
    private final ModelDims d;
    private final SpecialTokens special;

    public Generator(OrtVlm model, Tokenizer tokenizer, InterventionRegistry registry) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.registry = registry;
        this.d = model.bundle().dims();
        this.special = model.bundle().specialTokens();
    }

    public InterventionRegistry registry() {
        return registry;
    }

    ModelBundle bundle() {
        return model.bundle();
    }

    /** One result per arm, in request order. */
    public List<ArmResult> generate(GenerationRequest req, Cancellation cancel) {
        return generate(req, cancel, TokenListener.NONE);
    }

    /** As {@link #generate(GenerationRequest, Cancellation)}, telling {@code listener} each token as it is chosen. */
    public List<ArmResult> generate(GenerationRequest req, Cancellation cancel, TokenListener listener) {
        return generateBatch(List.of(req), cancel, listener).get(0);
    }

    /**
     * Several requests in the same decoder calls (rows of different prompt lengths are left-padded). Arms are
     * numbered across the requests in order for the listener; results come back per request.
     */
    public List<List<ArmResult>> generateBatch(List<GenerationRequest> requests, Cancellation cancel) {
        return generateBatch(requests, cancel, TokenListener.NONE);
    }

    public List<List<ArmResult>> generateBatch(List<GenerationRequest> requests, Cancellation cancel,
                                               TokenListener listener) {
        return run(requests, registry, cancel, listener);
    }

    /**
     * A stage before decoding for one image and prompt, as {@link #generateBatch} gives each arm's
     * {@link io.sightline.intervention.Intervention#prelude}: tests drive a prelude through it.
     */
    public Prelude prelude(ImageInput image, String prompt, Cancellation cancel) {
        return new ArmPrelude(this, image, prompt, cancel);
    }

    /** {@link #generateBatch} with the arms bound from {@code arms} (a prelude's probes bring their own). */
    List<List<ArmResult>> run(List<GenerationRequest> requests, InterventionRegistry arms, Cancellation cancel,
                              TokenListener listener) {
        if (requests.isEmpty()) {
            throw new InvalidParamsException("requests", "at least one request is required");
        }
        cancel.throwIfCancelled();
        RowPlan plan = RowPlan.admit(requests, arms, tokenizer, model.bundle(), 0, listener);
        List<Arm> all = plan.arms;      // plan.arms shrinks as arms finish
        preludes(plan, cancel);
        try (OrtSession.RunOptions run = runOptions(cancel);
             Cancellation.Registration ignored = cancel.onCancel(() -> terminate(run))) {
            Cohort cohort = prefill(plan, cancel, run);
            throwFailure(all);
            while (!cohort.isEmpty()) {
                cancel.throwIfCancelled();
                decode(cohort, cancel, run);
                throwFailure(all);
            }
        }
        Map<Integer, List<Arm>> byRequest = new LinkedHashMap<>();
        for (Arm a : all) {
            byRequest.computeIfAbsent(a.request, q -> new ArrayList<>()).add(a);
        }
        return byRequest.values().stream().map(this::results).toList();
    }

    /** One request's rows, arms numbered from {@code firstArm} so that they can join a running batch. */
    RowPlan admit(GenerationRequest request, int firstArm, TokenListener listener) {
        return RowPlan.admit(List.of(request), registry, tokenizer, model.bundle(), firstArm, listener);
    }

    /**
     * Every arm's prelude, before {@link #prefill}: after admission, so that every arm's parameters are checked
     * before any model call; a prelude's probe generations are their own run (own rows, cache and arena), finished
     * before the plan's prefill starts.
     */
    void preludes(RowPlan plan, Cancellation cancel) {
        for (Arm a : plan.arms) {
            a.refine(a.bound.prelude(prelude(a.image, a.prompt, cancel)));
        }
    }

    /**
     * The vision calls, the probe call if any arm has PROBE rows, and the prefill, which chooses every arm's first
     * token; returns the rows left to decode, in an arena of their own. {@code run} is terminated by the caller's
     * cancellation; {@code cancel} tells a terminated call from a failed one.
     */
    Cohort prefill(RowPlan plan, Cancellation cancel, OrtSession.RunOptions run) {
        RequestArena arena = new RequestArena();
        boolean encoded = false;
        try {
            FloatBuffer imageEmbeds = encodeImages(plan, arena, run);
            encoded = true;
            if (plan.startProbes()) {
                decodeStep(plan, Step.probe(plan.width), new KvCache(d, arena, plan.rows()), imageEmbeds, arena, run);
                plan.endProbes();
            }
            Cohort cohort = new Cohort(plan, new KvCache(d, arena, plan.rows()), arena);
            decodeStep(plan, new Step(0, plan.width, plan.width), cohort.kv, imageEmbeds, arena, run);
            cohort.steps = 1;
            cohort.retire(true);
            return cohort;
        } catch (OrtException e) {
            throw failure(e, cancel, encoded ? "decoder" : "vision", 0);
        }
    }

    /** One decoder call that chooses the next token of every live arm in {@code cohort}, then retires finished rows. */
    void decode(Cohort cohort, Cancellation cancel, OrtSession.RunOptions run) {
        try {
            decodeStep(cohort.plan, new Step(cohort.steps, 1, cohort.kv.keys() + 1), cohort.kv, null, cohort.arena,
                    run);
        } catch (OrtException e) {
            throw failure(e, cancel, "decoder", cohort.steps);
        }
        cohort.steps++;
        cohort.retire(false);
    }

    static OrtSession.RunOptions runOptions(Cancellation cancel) {
        try {
            return new OrtSession.RunOptions();
        } catch (OrtException e) {
            throw failure(e, cancel, "run options", -1);
        }
    }

    private static SightlineException failure(OrtException e, Cancellation cancel, String what, int step) {
        return cancel.isCancelled() ? new CancelledException("generation cancelled during step " + step)
                : new EngineFailureException(what, step, e);
    }

    /** Rethrows what an arm's own hooks threw: in a batch of one caller's requests it fails them all. */
    private static void throwFailure(List<Arm> arms) {
        for (Arm a : arms) {
            if (a.failure != null) {
                throw a.failure;
            }
        }
    }

    static void terminate(OrtSession.RunOptions run) {
        try {
            run.setTerminate(true);
        } catch (OrtException e) {
            // the step loop still sees the cancellation between steps
            log.debug("could not terminate the ONNX Runtime call in flight: {}", e.getMessage());
        }
    }

    /**
     * Runs vision.onnx over every image row: first one neutral row per request image plus one per arm that writes
     * its base image's controls (their probes go to {@link io.sightline.intervention.Steerer#afterVision}), then, if
     * any arm has own-image branches, a second call for those rows, written after the probes were read. Returns
     * image_embeds [Bv,N,D] of both calls in row order, or null when no row has an image.
     */
    private FloatBuffer encodeImages(RowPlan plan, RequestArena arena, OrtSession.RunOptions run) throws OrtException {
        Map<RowRef, Integer> first = new HashMap<>();            // base image rows of the first call
        Map<Integer, Integer> shared = new HashMap<>();          // request -> its neutral vision row
        List<ImageInput> images = new ArrayList<>();             // per vision row, both calls
        for (Arm a : plan.arms) {
            if (a.rows.stream().noneMatch(r -> r.hasImage() && !r.ownImage)) {
                continue;
            }
            if (a.ownsBaseImage()) {
                first.put(a.base(), images.size());
                images.add(a.image);
            } else {
                first.put(a.base(), shared.computeIfAbsent(a.request, q -> {
                    images.add(a.image);
                    return images.size() - 1;
                }));
            }
        }
        int firstRows = images.size();
        Map<RowRef, Integer> second = new HashMap<>();           // own-image branches, numbered from firstRows
        for (Row r : plan.batch()) {
            if (r.ownImage) {
                second.put(r.ref, images.size());
                images.add(r.arm.image);
            }
        }
        for (Row r : plan.batch()) {
            r.visionRow = !r.hasImage() ? -1 : r.ownImage ? second.get(r.ref) : first.get(r.arm.base());
        }
        if (images.isEmpty()) {
            return null;
        }
        int n = d.imageTokens();
        FloatBuffer embeds = arena.floats("vision.image_embeds", (long) images.size() * n * d.hidden());
        Set<ProbeKind> wanted = EnumSet.noneOf(ProbeKind.class);
        plan.arms.forEach(a -> a.bound.footprint().reads().stream().filter(k -> !k.decoder()).forEach(wanted::add));
        visionCall("vision", images.subList(0, firstRows), wanted, slice(embeds, 0, firstRows * n * d.hidden()),
                arena, run, (controls, pixels) -> {
                    for (Arm a : plan.arms) {
                        if (!first.containsKey(a.base())) {
                            continue;
                        }
                        if (a.ownsBaseImage()) {
                            a.steerer.beforeVision(armVision(a, controls, Map.of(a.base(), first.get(a.base())),
                                    pixels));
                        } else if (a.bound.footprint().reads().contains(ProbeKind.VISION_ATTN)) {
                            // an arm on the shared image row still picks the layer its vision_attn comes from
                            // (CausalMM); with no rows of its own it can write nothing else
                            a.steerer.beforeVision(armVision(a, controls, Map.of(), pixels));
                        }
                    }
                }, out -> {
                    for (Arm a : plan.arms) {
                        if (first.containsKey(a.base()) && a.bound.footprint().reads().stream().anyMatch(k -> !k.decoder())) {
                            a.steerer.afterVision(out.probes(first.get(a.base())));
                        }
                    }
                });
        if (!second.isEmpty()) {
            visionCall("vision.branches", images.subList(firstRows, images.size()), Set.of(),
                    slice(embeds, firstRows * n * d.hidden(), (images.size() - firstRows) * n * d.hidden()),
                    arena, run, (controls, pixels) -> {
                        for (Arm a : plan.arms) {
                            Map<RowRef, Integer> own = new HashMap<>();
                            a.rows.stream().filter(r -> r.ownImage).forEach(r -> own.put(r.ref, second.get(r.ref) - firstRows));
                            if (!own.isEmpty()) {
                                a.steerer.beforeBranchImages(armVision(a, controls, own, pixels));
                            }
                        }
                    }, out -> {
                    });
        }
        return embeds;
    }

    private ArmVisionControls armVision(Arm a, VisionControls controls, Map<RowRef, Integer> rows, FloatBuffer pixels) {
        int h = model.bundle().imageSize();
        return new ArmVisionControls(controls, a.index, rows, pixels, 3 * h * h, a.bound.intervention(),
                a.bound.footprint().writes());
    }

    private interface VisionWrite {
        void write(VisionControls controls, FloatBuffer pixels);
    }

    private interface VisionRead {
        void read(VisionOutput out);
    }

    /** One vision.onnx call over {@code images}: write controls and pixels, run, read probes. */
    private void visionCall(String name, List<ImageInput> images, Set<ProbeKind> wanted, FloatBuffer embeds,
                            RequestArena arena, OrtSession.RunOptions run, VisionWrite write, VisionRead read)
            throws OrtException {
        OrtEnvironment env = model.env();
        int rows = images.size();
        int h = model.bundle().imageSize();
        int hw = h * h;
        FloatBuffer pixels = arena.floats(name + ".pixel_values", (long) rows * 3 * hw);   // [Bv,3,H,W]
        for (int v = 0; v < rows; v++) {
            pixels.put(v * 3 * hw, images.get(v).pixels());
        }
        try (TensorScope scope = new TensorScope();
             VisionControls controls = VisionControls.neutral(d, rows, arena);
             VisionOutput out = new VisionOutput(env, d, rows, wanted, arena, embeds)) {
            write.write(controls, pixels);
            Map<String, OnnxTensor> inputs = new HashMap<>(controls.tensors(env));
            inputs.put("pixel_values", scope.add(OnnxTensor.createTensor(env, pixels, new long[] {rows, 3, h, h})));
            try (OrtSession.Result ignored = model.run(model.vision(), inputs, out.pinned(), run)) {
                read.read(out);
            }
        }
    }

    private static FloatBuffer slice(FloatBuffer b, int from, int length) {
        return b.duplicate().position(from).limit(from + length).slice();
    }

    /**
     * One decoder call over the plan's batch. {@code call} gives its shape; each arm sees it as its own step (arms
     * that joined a running batch later are at lower step indices). What an arm's hooks throw ends that arm
     * ({@link Arm#failure}), so one request's intervention never fails the other requests in the call.
     */
    private void decodeStep(RowPlan plan, Step call, KvCache kv, FloatBuffer imageEmbeds, RequestArena arena,
                            OrtSession.RunOptions run) throws OrtException {
        OrtEnvironment env = model.env();
        List<Row> batch = plan.batch();
        int rows = batch.size();
        int t = call.queries();
        int s = call.keys();
        List<Arm> arms = plan.callArms();
        try (TensorScope scope = new TensorScope();
             Controls controls = Controls.neutral(d, rows, t, s, arena, plan::index)) {
            for (Arm a : arms) {
                hook(a, () -> a.steerer.beforeCall(stepOf(a, call), new ArmControls(controls, a.index,
                        a.bound.intervention(), a.bound.footprint().writes(), r -> plan.spans(r, s))));
            }
            Set<ProbeKind> probes = plan.decoderProbes();
            OrtVlm.DecoderGraph graph = decoderFor(controls.written(), probes);
            Map<String, OnnxTensor> inputs = new HashMap<>(controls.tensors(env, graph.inputs()));
            inputs.put("inputs_embeds", scope.add(embed(plan, call, imageEmbeds, arena)));
            inputs.put("position_ids", scope.add(positions(batch, call, arena)));
            inputs.put("key_mask", scope.add(keyMask(batch, s, arena)));
            inputs.put("past_kv", scope.add(kv.past(env)));
            OnnxTensor present = scope.add(kv.present(env, t));
            try (DecoderOutput out = new DecoderOutput(env, d, plan, call, probes, graph.outputs(), arena, present);
                 OrtSession.Result ignored = model.run(graph.session(), inputs, out.pinned(), run)) {
                kv.adopt(t);
                for (Arm a : arms) {
                    hook(a, () -> {
                        a.steerer.afterCall(stepOf(a, call), out);
                        if (!call.isProbe()) {
                            a.visual.add(out, a.base(), d);
                        }
                    });
                }
                for (Arm a : call.isProbe() ? List.<Arm>of() : arms) {
                    hook(a, () -> choose(a, stepOf(a, call), out, plan));
                    a.steps++;
                }
            }
        }
    }

    private static Step stepOf(Arm a, Step call) {
        return call.isProbe() ? call : a.step(call.queries(), call.keys());
    }

    /** Runs one arm's part of a call unless the arm already failed in it; a failure ends only that arm. */
    private static void hook(Arm a, Runnable part) {
        if (a.failure != null) {
            return;
        }
        try {
            part.run();
        } catch (RuntimeException e) {
            a.fail(e);
        }
    }

    /**
     * The smallest decoder graph for a call that writes {@code written} and reads {@code probes} (decoder_plain when
     * every row is neutral and only attn_last is read): all give the same outputs, the gated ops of edits nobody
     * writes cost per-node time on every step. pair_heads needs no graph that has it unless the pair edit is
     * written: without it the output is zero by definition, and DecoderOutput gives zeros.
     */
    private OrtVlm.DecoderGraph decoderFor(Set<String> written, Set<ProbeKind> probes) {
        Set<String> outputs = new HashSet<>();
        for (ProbeKind k : probes) {
            if (k != ProbeKind.PAIR_HEADS || written.contains(Controls.PAIR_ROW)) {
                outputs.add(k.output());
            }
        }
        return model.decoderFor(written, outputs);
    }

    /**
     * inputs_embeds [B,T,D]: rows of embed.onnx's table for the row's ids (pads on the left), the image embeddings
     * at {@code <image>} in rows that have an image.
     */
    private OnnxTensor embed(RowPlan plan, Step step, FloatBuffer imageEmbeds, RequestArena arena) throws OrtException {
        List<Row> batch = plan.batch();
        int rows = batch.size();
        int t = step.queries();
        int n = d.imageTokens();
        int dim = d.hidden();
        float[] table = model.embeddings();                                             // [V,D]
        FloatBuffer embeds = arena.floats("in.inputs_embeds", (long) rows * t * dim);   // [B,T,D]
        for (int b = 0; b < rows; b++) {
            Row r = batch.get(b);
            if (!step.feedsPrompt()) {
                embeds.put(b * dim, table, r.arm.lastToken * dim, dim);
                continue;
            }
            int at = b * t * dim;
            for (int i = 0; i < r.pad; i++, at += dim) {
                embeds.put(at, table, special.padId() * dim, dim);
            }
            long[] prompt = r.prompt.ids();
            for (int i = 0; i < prompt.length; i++) {
                if (i == r.prompt.imageAt() && r.visionRow >= 0) {
                    embeds.put(at, imageEmbeds, r.visionRow * n * dim, n * dim);              // [N,D]
                    at += n * dim;
                    continue;
                }
                int copies = i == r.prompt.imageAt() ? n : 1;
                for (int c = 0; c < copies; c++, at += dim) {
                    embeds.put(at, table, (int) prompt[i] * dim, dim);
                }
            }
        }
        return OnnxTensor.createTensor(model.env(), embeds, new long[] {rows, t, dim});
    }

    /** position_ids [B,T]: positions restart at 0 on a row's first real token; padding sits at 0. */
    private OnnxTensor positions(List<Row> batch, Step step, RequestArena arena) throws OrtException {
        int t = step.queries();
        LongBuffer pos = arena.longs("in.position_ids", (long) batch.size() * t);
        for (int b = 0; b < batch.size(); b++) {
            for (int q = 0; q < t; q++) {
                pos.put(b * t + q, Math.max(0, step.past() + q - batch.get(b).pad));
            }
        }
        return OnnxTensor.createTensor(model.env(), pos, new long[] {batch.size(), t});
    }

    /** key_mask [B,S]: 0 on left padding, 1 on every real key (prompt and generated). */
    private OnnxTensor keyMask(List<Row> batch, int s, RequestArena arena) throws OrtException {
        FloatBuffer mask = arena.floats("in.key_mask", (long) batch.size() * s);
        for (int b = 0; b < batch.size(); b++) {
            int pad = batch.get(b).pad;
            for (int k = 0; k < s; k++) {
                mask.put(b * s + k, k < pad ? 0f : 1f);
            }
        }
        return OnnxTensor.createTensor(model.env(), mask, new long[] {batch.size(), s});
    }

    /** Combine (if the arm writes LOGITS), sample, record, and decide whether the arm is done. */
    private void choose(Arm a, Step step, DecoderOutput out, RowPlan plan) {
        float[] logits = out.logits(plan.index(a.base()));
        if (a.writes(Slot.LOGITS)) {
            a.steerer.combine(step, new ArmLogits() {
                @Override
                public float[] base() {
                    return logits;
                }

                @Override
                public FloatView branch(String name) {
                    return out.logitsView(plan.index(a.branch(name)));
                }
            });
        }
        a.listener.onLogits(a.number, logits);
        int token = a.sampler.sample(logits);
        float logprob = (float) Sampler.logprob(logits, token);
        if (token == special.eosId()) {
            finish(a, null);
            return;
        }
        a.append(token, logprob);
        a.listener.onToken(a.number, token, logprob, System.nanoTime() - a.t0);
        List<String> stop = a.decoding.stop();
        if (!stop.isEmpty()) {
            String text = tokenizer.decode(Arrays.copyOf(a.tokens, a.count));
            int cut = -1;
            for (String st : stop) {
                int i = text.indexOf(st);
                if (i >= 0 && (cut < 0 || i < cut)) {
                    cut = i;
                }
            }
            if (cut >= 0) {
                // the token that completed the stop string is not part of the output
                a.count--;
                finish(a, text.substring(0, cut));
                return;
            }
        }
        if (a.count >= a.decoding.maxNewTokens()) {
            finish(a, null);
        }
    }

    private void finish(Arm a, String text) {
        a.done = true;
        a.text = text;
        a.endNanos = System.nanoTime();
    }

    /** One request's results, in arm order. */
    List<ArmResult> results(List<Arm> arms) {
        List<ArmResult> out = new ArrayList<>();
        for (Arm a : arms) {
            int[] tokens = Arrays.copyOf(a.tokens, a.count);
            float[] logprobs = Arrays.copyOf(a.logprobs, a.count);
            String text = a.text != null ? a.text : tokenizer.decode(tokens);
            long latency = a.endNanos - a.t0;
            double mean = 0;
            for (float lp : logprobs) {
                mean += lp / logprobs.length;
            }
            Map<String, Double> scores = new LinkedHashMap<>();
            if (logprobs.length > 0) {
                scores.put("mean_logprob", mean);
            }
            if (!Double.isNaN(a.visual.ratio())) {
                scores.put("visual_attention_ratio", a.visual.ratio());
            }
            out.add(new ArmResult(a.bound.intervention(), a.bound.params(), text, tokens, logprobs, latency,
                    a.count / (latency / 1e9), scores));
        }
        return List.copyOf(out);
    }
}
