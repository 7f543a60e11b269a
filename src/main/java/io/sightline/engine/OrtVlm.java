package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.LongBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ONNX Runtime sessions of a model bundle (vision, embed, decoder, decoder_plain, the decoder variants), opened
 * together and closed together, and embed.onnx's table read at open.
 * Thread-safe for concurrent runs (ORT sessions are). Runs go through {@link #run}, so that {@link #close()} waits
 * for the runs in flight instead of freeing a session under one (a native use-after-free, which kills the JVM).
 */
public final class OrtVlm implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OrtVlm.class);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

    // kept in sync with onnx-models/tools/abi.py
    static final List<String> DECODER_INPUTS = List.of("inputs_embeds", "position_ids", "key_mask", "row_mask",
            "visual_mask", "past_kv", "attn_bias", "amp", "amp_mask", "mix", "mix_mode", "mix_alt", "mix_perm",
            "redist", "redist_gate", "sink_mask", "target_mask", "focus_logw", "focus_k", "query_mask", "head_scale",
            "pair_row", "pair_alpha", "probe_layer");
    static final List<String> DECODER_OUTPUTS = List.of("logits", "present_kv", "attn_last", "attn_query",
            "attn_heads", "head_out", "sink_score", "pair_heads");
    static final List<String> PLAIN_INPUTS = List.of("inputs_embeds", "position_ids", "key_mask", "past_kv");
    static final List<String> PLAIN_OUTPUTS = List.of("logits", "present_kv", "attn_last");
    static final List<String> VISION_INPUTS = List.of("pixel_values", "patch_scale", "mix", "mix_alt", "probe_layer");
    static final List<String> VISION_OUTPUTS = List.of("image_embeds", "cls_attn", "vision_attn");
    static final List<String> EMBED_INPUTS = List.of("input_ids");
    static final List<String> EMBED_OUTPUTS = List.of("embeds");

    private final ModelBundle bundle;
    private final OrtEnvironment env;
    private final OrtSession vision;
    private final OrtSession embed;
    private final List<DecoderGraph> decoders; // smallest first: decoder_plain, the variants, decoder.onnx last
    private final float[] embeddings;          // [V,D]
    private final String executionProvider;
    /** Read side: a run in flight; write side: closing. */
    private final ReentrantReadWriteLock runs = new ReentrantReadWriteLock();
    private volatile boolean closed;

    /**
     * A decoder graph: decoder.onnx or one with a subset of its inputs and outputs (decoder_plain, a variant), the
     * same arithmetic with the edits it lacks at their neutral values.
     */
    record DecoderGraph(String name, OrtSession session, Set<String> inputs, Set<String> outputs) {

        /** Whether a call that writes {@code controls} (ABI input names) and reads {@code probes} can run here. */
        boolean covers(Set<String> controls, Set<String> probes) {
            return inputs.containsAll(controls) && outputs.containsAll(probes);
        }
    }

    private OrtVlm(ModelBundle bundle, OrtEnvironment env, OrtSession vision, OrtSession embed,
                   List<DecoderGraph> decoders, String executionProvider) {
        this.bundle = bundle;
        this.env = env;
        this.vision = vision;
        this.embed = embed;
        this.decoders = decoders;
        this.executionProvider = executionProvider;
        this.embeddings = new float[bundle.dims().vocab() * bundle.dims().hidden()];
    }

    /**
     * Opens the sessions. With {@code cuda} requested and no usable CUDA provider (the CPU jar, or the GPU jar on a
     * machine without CUDA), logs one warning and runs on the CPU.
     */
    public static OrtVlm open(ModelBundle bundle, EngineOptions options) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String provider = options.executionProvider();
        OrtSession vision = null;
        OrtSession embed = null;
        List<DecoderGraph> decoders = new ArrayList<>();
        try {
            if (provider.equals("cuda")) {
                try {
                    vision = session(env, bundle.vision().toString(), options, true);
                } catch (OrtException | RuntimeException | LinkageError e) {
                    log.warn("CUDA execution provider requested but unavailable ({}); running on CPU. "
                            + "Use the -Pgpu build on a machine with CUDA to run on the GPU.", e.getMessage());
                    provider = "cpu";
                }
            }
            boolean cuda = provider.equals("cuda");
            if (vision == null) {
                vision = session(env, bundle.vision().toString(), options, false);
            }
            embed = session(env, bundle.embed().toString(), options, cuda);
            if (bundle.decoderPlain() != null) {
                decoders.add(new DecoderGraph("decoder_plain", session(env, bundle.decoderPlain().toString(), options,
                        cuda), Set.copyOf(PLAIN_INPUTS), Set.copyOf(PLAIN_OUTPUTS)));
            }
            for (ModelBundle.DecoderVariant v : bundle.decoderVariants()) {
                decoders.add(new DecoderGraph(v.name(), session(env, v.file().toString(), options, cuda),
                        Set.copyOf(v.inputs()), Set.copyOf(v.outputs())));
            }
            decoders.add(new DecoderGraph("decoder", session(env, bundle.decoder().toString(), options, cuda),
                    Set.copyOf(DECODER_INPUTS), Set.copyOf(DECODER_OUTPUTS)));
            OrtVlm vlm = new OrtVlm(bundle, env, vision, embed, List.copyOf(decoders), provider);
            vlm.checkAbi();
            vlm.readEmbeddings();
            return vlm;
        } catch (OrtException e) {
            closeQuietly(vision);
            closeQuietly(embed);
            decoders.forEach(g -> closeQuietly(g.session()));
            throw new EngineFailureException("opening " + bundle.dir(), -1, e);
        } catch (RuntimeException e) {
            closeQuietly(vision);
            closeQuietly(embed);
            decoders.forEach(g -> closeQuietly(g.session()));
            throw e;
        }
    }

    private static OrtSession session(OrtEnvironment env, String path, EngineOptions o, boolean cuda) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (o.intraOpThreads() > 0) {
                so.setIntraOpNumThreads(o.intraOpThreads());
            }
            so.setInterOpNumThreads(1);
            if (cuda) {
                so.addCUDA(0);
            }
            return env.createSession(path, so);
        }
    }

    private void checkAbi() throws OrtException {
        for (DecoderGraph g : decoders) {
            // a variant's lists come from model.json: they must be ABI names, and what the graph really has
            if (!DECODER_INPUTS.containsAll(g.inputs()) || !DECODER_OUTPUTS.containsAll(g.outputs())) {
                close();
                throw new EngineFailureException(g.name() + ": model.json lists inputs or outputs outside decoder.onnx's ABI");
            }
            check(g.name(), g.session().getInputInfo().keySet(), List.copyOf(g.inputs()), "inputs");
            check(g.name(), g.session().getOutputInfo().keySet(), List.copyOf(g.outputs()), "outputs");
        }
        check("vision", vision.getInputInfo().keySet(), VISION_INPUTS, "inputs");
        check("vision", vision.getOutputInfo().keySet(), VISION_OUTPUTS, "outputs");
        check("embed", embed.getInputInfo().keySet(), EMBED_INPUTS, "inputs");
        check("embed", embed.getOutputInfo().keySet(), EMBED_OUTPUTS, "outputs");
    }

    private void check(String graph, Set<String> actual, List<String> expected, String what) {
        if (!actual.containsAll(expected) || actual.size() != expected.size()) {
            close();
            throw new EngineFailureException(graph + ".onnx " + what + " do not match ABI v" + ModelBundle.ABI_VERSION
                    + ": graph has " + new TreeSet<>(actual) + ", engine expects " + new TreeSet<>(expected));
        }
    }

    /**
     * Runs embed.onnx once over every token id: a lookup is a copy of a row of its table, so the Generator copies
     * rows itself instead of paying a second ONNX Runtime call on every decode step.
     */
    private void readEmbeddings() throws OrtException {
        int v = bundle.dims().vocab();
        long[] ids = new long[v];
        for (int i = 0; i < v; i++) {
            ids[i] = i;
        }
        try (OnnxTensor in = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, v});
             OrtSession.Result out = embed.run(Map.of("input_ids", in))) {
            ((OnnxTensor) out.get(0)).getFloatBuffer().get(embeddings);
        }
    }

    public ModelBundle bundle() {
        return bundle;
    }

    /** The provider the sessions actually run on: {@code cpu} or {@code cuda}. */
    public String executionProvider() {
        return executionProvider;
    }

    OrtEnvironment env() {
        return env;
    }

    OrtSession vision() {
        return vision;
    }

    /** embed.onnx's table [V,D], row-major: the embedding of token {@code id} is at {@code id * D}. */
    float[] embeddings() {
        return embeddings;
    }

    /**
     * The first decoder graph, smallest first, that has every control input a call writes and every probe it reads;
     * decoder.onnx, last, has them all.
     */
    DecoderGraph decoderFor(Set<String> controls, Set<String> probes) {
        for (DecoderGraph g : decoders) {
            if (g.covers(controls, probes)) {
                return g;
            }
        }
        throw new IllegalStateException("decoder.onnx lacks " + controls + " or " + probes);
    }

    /** The decoder graphs, smallest first (decoder.onnx last). */
    List<DecoderGraph> decoders() {
        return decoders;
    }

    /**
     * Runs one of this model's sessions with preallocated outputs; refused once {@link #close()} has begun.
     *
     * @throws OrtException when the run fails, or the model is closed
     */
    OrtSession.Result run(OrtSession session, Map<String, OnnxTensor> inputs, Map<String, ? extends OnnxValue> pinned,
                          OrtSession.RunOptions options) throws OrtException {
        Lock lock = runs.readLock();
        lock.lock();
        try {
            if (closed) {
                throw new OrtException("the model is closed: the server is shutting down");
            }
            return session.run(inputs, Set.of(), pinned, options);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Idempotent. Waits up to {@code CLOSE_WAIT} for the runs in flight (the decode loop and the evaluation worker
     * terminate theirs before the container closes this); if one still runs then, the sessions are left to the
     * process's exit rather than freed under it.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Lock lock = runs.writeLock();
        try {
            if (!lock.tryLock(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("an ONNX Runtime run is still in flight after {}: its sessions are not freed", CLOSE_WAIT);
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.warn("interrupted while waiting for the runs in flight: the ONNX Runtime sessions are not freed");
            return;
        }
        try {
            decoders.forEach(g -> closeQuietly(g.session()));
            closeQuietly(embed);
            closeQuietly(vision);
        } finally {
            lock.unlock();
        }
    }

    private static void closeQuietly(OrtSession s) {
        if (s == null) {
            return;
        }
        try {
            s.close();
        } catch (OrtException e) {
            log.warn("closing an ONNX Runtime session failed: {}", e.getMessage());
        }
    }
}
