package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ONNX Runtime sessions of a model bundle (vision, embed, decoder, decoder_plain), opened together and closed
 * together, and embed.onnx's table read at open.
 * Thread-safe for concurrent runs (ORT sessions are); {@link #close()} must come after the last run.
 */
public final class OrtVlm implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OrtVlm.class);

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
    private final OrtSession decoder;
    private final OrtSession plainDecoder;     // null when the bundle has no decoder_plain.onnx
    private final float[] embeddings;          // [V,D]
    private final String executionProvider;
    private boolean closed;

    private OrtVlm(ModelBundle bundle, OrtEnvironment env, OrtSession vision, OrtSession embed, OrtSession decoder,
                   OrtSession plainDecoder, String executionProvider) {
        this.bundle = bundle;
        this.env = env;
        this.vision = vision;
        this.embed = embed;
        this.decoder = decoder;
        this.plainDecoder = plainDecoder;
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
        OrtSession decoder = null;
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
            decoder = session(env, bundle.decoder().toString(), options, cuda);
            OrtSession plain = bundle.decoderPlain() == null ? null
                    : session(env, bundle.decoderPlain().toString(), options, cuda);
            OrtVlm vlm = new OrtVlm(bundle, env, vision, embed, decoder, plain, provider);
            vlm.checkAbi();
            vlm.readEmbeddings();
            return vlm;
        } catch (OrtException e) {
            closeQuietly(vision);
            closeQuietly(embed);
            closeQuietly(decoder);
            throw new EngineFailureException("opening " + bundle.dir(), -1, e);
        } catch (RuntimeException e) {
            closeQuietly(vision);
            closeQuietly(embed);
            closeQuietly(decoder);
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
        check("decoder", decoder.getInputInfo().keySet(), DECODER_INPUTS, "inputs");
        check("decoder", decoder.getOutputInfo().keySet(), DECODER_OUTPUTS, "outputs");
        check("vision", vision.getInputInfo().keySet(), VISION_INPUTS, "inputs");
        check("vision", vision.getOutputInfo().keySet(), VISION_OUTPUTS, "outputs");
        check("embed", embed.getInputInfo().keySet(), EMBED_INPUTS, "inputs");
        check("embed", embed.getOutputInfo().keySet(), EMBED_OUTPUTS, "outputs");
        if (plainDecoder != null) {
            check("decoder_plain", plainDecoder.getInputInfo().keySet(), PLAIN_INPUTS, "inputs");
            check("decoder_plain", plainDecoder.getOutputInfo().keySet(), PLAIN_OUTPUTS, "outputs");
        }
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

    OrtSession decoder() {
        return decoder;
    }

    /** decoder_plain.onnx, or null: same outputs as a neutral decoder call without the gated ops' cost. */
    OrtSession plainDecoder() {
        return plainDecoder;
    }

    /** Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(plainDecoder);
        closeQuietly(decoder);
        closeQuietly(embed);
        closeQuietly(vision);
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
