package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The LLaVA-1.5 checkpoint path of the exporter: onnx-models/tests/tiny-llava holds tiny random weights in the
 * Hugging Face layout, their export, and the logits of an independent PyTorch forward that reads the HF names
 * (llava_layout.oracle_logits). The exported graphs, run here by ONNX Runtime with neutral controls, must give the
 * same last-position logits. Raw ORT on purpose: this checks the export, not the engine.
 */
class LlavaExportRoundTripTest {

    private static final Path DIR = Path.of("onnx-models/tests/tiny-llava");

    @Test
    void exportedGraphsReproduceTheHfLayoutLogits() throws Exception {
        JsonMapper json = JsonMapper.builder().build();
        JsonNode expected = json.readTree(DIR.resolve("expected.json").toFile());
        JsonNode meta = json.readTree(DIR.resolve("export/model.json").toFile());
        int layers = meta.get("text").get("layers").asInt();
        int heads = meta.get("text").get("heads").asInt();
        int headDim = meta.get("text").get("head_dim").asInt();
        int hidden = meta.get("text").get("hidden").asInt();
        int vLayers = meta.get("vision").get("layers").asInt();
        int vHeads = meta.get("vision").get("heads").asInt();
        int patches = meta.get("vision").get("patches").asInt();
        int imageId = meta.get("special_tokens").get("image_id").asInt();
        long[] ids = longs(expected.get("input_ids"));
        int imageAt = indexOf(ids, imageId);
        int t = ids.length - 1 + patches;

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession vision = session(env, "vision.onnx");
             OrtSession embed = session(env, "embed.onnx");
             OrtSession decoder = session(env, "decoder.onnx")) {
            float[] image;
            Map<String, OnnxTensor> vin = new HashMap<>();
            try {
                vin.put("pixel_values", floats(env, floats(expected.get("pixel_values")), 1, 3, size(expected, 1), size(expected, 2)));
                vin.put("patch_scale", filled(env, 1f, 1, patches));
                vin.put("mix", filled(env, 0f, 1, vLayers, vHeads));
                vin.put("mix_alt", filled(env, 0f, 1, vLayers, vHeads, patches + 1, patches + 1));
                vin.put("probe_layer", OnnxTensor.createTensor(env, (long) vLayers - 1));
                try (OrtSession.Result r = vision.run(vin)) {
                    image = read((OnnxTensor) r.get("image_embeds").get());
                }
            } finally {
                vin.values().forEach(OnnxTensor::close);
            }
            float[] tokens;
            try (OnnxTensor in = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, ids.length});
                 OrtSession.Result r = embed.run(Map.of("input_ids", in))) {
                tokens = read((OnnxTensor) r.get("embeds").get());
            }
            float[] embeds = new float[t * hidden];                 // [1,T,D]: the image token becomes N rows
            System.arraycopy(tokens, 0, embeds, 0, imageAt * hidden);
            System.arraycopy(image, 0, embeds, imageAt * hidden, patches * hidden);
            System.arraycopy(tokens, (imageAt + 1) * hidden, embeds, (imageAt + patches) * hidden,
                    (ids.length - imageAt - 1) * hidden);

            Map<String, OnnxTensor> in = new HashMap<>();
            try {
                long[] positions = new long[t];
                long[] perm = new long[t];
                for (int i = 0; i < t; i++) {
                    positions[i] = i;
                    perm[i] = i;
                }
                in.put("inputs_embeds", floats(env, embeds, 1, t, hidden));
                in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {1, t}));
                in.put("key_mask", filled(env, 1f, 1, t));
                in.put("row_mask", filled(env, 1f, 1, t));
                in.put("visual_mask", filled(env, 0f, 1, t));
                in.put("past_kv", filled(env, 0f, layers, 2, 1, heads, 0, headDim));
                for (String name : List.of("attn_bias", "mix_alt")) {
                    in.put(name, filled(env, 0f, 1, layers, heads, t));
                }
                for (String name : List.of("amp", "mix", "redist")) {
                    in.put(name, filled(env, 0f, 1, layers, heads));
                }
                for (String name : List.of("amp_mask", "sink_mask", "target_mask", "focus_logw", "query_mask")) {
                    in.put(name, filled(env, 0f, 1, layers, t));
                }
                in.put("head_scale", filled(env, 1f, 1, layers, heads));
                in.put("redist_gate", filled(env, 0f, 1, layers, 2));
                in.put("pair_alpha", filled(env, 1f, 1, layers));
                in.put("mix_mode", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {0}), new long[] {1}));
                in.put("mix_perm", OnnxTensor.createTensor(env, LongBuffer.wrap(perm), new long[] {1, t}));
                in.put("focus_k", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[layers]), new long[] {1, layers}));
                in.put("pair_row", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {-1}), new long[] {1}));
                in.put("probe_layer", OnnxTensor.createTensor(env, 0L));
                try (OrtSession.Result r = decoder.run(in, java.util.Set.of("logits"))) {
                    float[] logits = read((OnnxTensor) r.get("logits").get());
                    float[] want = floats(expected.get("last_logits"));
                    double tol = expected.get("tolerance").asDouble();
                    assertThat(logits).hasSize(want.length);
                    for (int v = 0; v < want.length; v++) {
                        assertThat((double) logits[v]).as("logit %d", v).isCloseTo(want[v], offset(tol));
                    }
                }
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static OrtSession session(OrtEnvironment env, String file) throws Exception {
        return env.createSession(DIR.resolve("export").resolve(file).toString(), new OrtSession.SessionOptions());
    }

    private static OnnxTensor floats(OrtEnvironment env, float[] data, long... shape) throws Exception {
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
    }

    private static OnnxTensor filled(OrtEnvironment env, float value, long... shape) throws Exception {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] data = new float[(int) n];
        java.util.Arrays.fill(data, value);
        return floats(env, data, shape);
    }

    private static float[] read(OnnxTensor tensor) {
        FloatBuffer b = tensor.getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    private static int size(JsonNode expected, int axis) {
        return expected.get("pixel_shape").get(axis).asInt();
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static int indexOf(long[] ids, long id) throws IOException {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        throw new IOException("no image token " + id + " in the fixture's input_ids");
    }
}
