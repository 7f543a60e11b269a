package io.sightline.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * An exported model directory: model.json read once, plus the paths of the graphs and the tokenizer.
 * Every model constant the engine uses comes from here, never from code (STYLE.md §1, DJL lesson).
 *
 * @param imageSize      side of the square input image in pixels
 * @param mean           per-channel RGB mean for normalisation ({@code (x/255 - mean) / std})
 * @param std            per-channel RGB std
 * @param grid           image patches per side {rows, cols}
 * @param promptTemplate contains {@code {prompt}} and the image token
 * @param sinkDims       hidden dimensions that {@code sink_score} reads (VAR)
 * @param calibration    calibrated parameter defaults from calibration.json: method -> parameter -> value
 * @param decoderPlain   decoder_plain.onnx (the decoder without controls, for all-neutral calls); null if absent
 * @param decoderVariants model.json {@code decoder_variants}: decoders with only some edits and probes, in the order
 *                       listed (onnx-models/README.md "Decoder variants"); empty if none
 */
public record ModelBundle(Path dir, String name, int abiVersion, int imageSize, float[] mean, float[] std,
                          int[] grid, int patchSize, String promptTemplate, SpecialTokens specialTokens,
                          ModelDims dims, int[] sinkDims, Map<String, Object> calibration, Path vision, Path embed,
                          Path decoder, Path decoderPlain, List<DecoderVariant> decoderVariants, Path tokenizer) {

    /**
     * One of model.json's {@code decoder_variants}: a decoder graph whose inputs and outputs are subsets of
     * decoder.onnx's, the same arithmetic with the other edits at their neutral values.
     */
    public record DecoderVariant(String name, Path file, List<String> inputs, List<String> outputs) {
        public DecoderVariant {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    /** The ABI version this engine speaks (onnx-models/README.md). */
    public static final int ABI_VERSION = 1;

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    public static ModelBundle load(Path dir) {
        Path file = dir.resolve("model.json");
        JsonNode m;
        try {
            m = JSON.readTree(Files.readString(file));
        } catch (IOException | JacksonException e) {
            throw new EngineFailureException("cannot read " + file + ": " + e.getMessage());
        }
        int abi = req(m, "abi_version").asInt();
        if (abi != ABI_VERSION) {
            throw new EngineFailureException(file + ": abi_version " + abi + ", this engine speaks " + ABI_VERSION);
        }
        JsonNode image = req(m, "image");
        JsonNode text = req(m, "text");
        JsonNode vision = req(m, "vision");
        JsonNode sp = req(m, "special_tokens");
        JsonNode files = req(m, "files");
        String template = req(m, "prompt_template").asString();
        SpecialTokens special = new SpecialTokens(req(sp, "bos").asString(), req(sp, "eos").asString(),
                req(sp, "pad").asString(), req(sp, "image").asString(), req(sp, "bos_id").asInt(),
                req(sp, "eos_id").asInt(), req(sp, "pad_id").asInt(), req(sp, "image_id").asInt());
        if (!template.contains("{prompt}") || !template.contains(special.image())) {
            throw new EngineFailureException(file + ": prompt_template needs {prompt} and " + special.image());
        }
        int hidden = req(text, "hidden").asInt();
        int heads = req(text, "heads").asInt();
        int headDim = text.has("head_dim") ? text.get("head_dim").asInt() : hidden / heads;
        ModelDims dims = new ModelDims(req(text, "layers").asInt(), heads, headDim, hidden, req(text, "vocab").asInt(),
                req(m, "image_tokens").asInt(), req(vision, "layers").asInt(), req(vision, "heads").asInt());
        int[] grid = ints(req(image, "grid"));
        if (grid.length != 2 || grid[0] * grid[1] != dims.imageTokens()) {
            throw new EngineFailureException(file + ": image grid does not multiply to image_tokens");
        }
        return new ModelBundle(dir, m.path("name").asString(dir.getFileName().toString()), abi,
                req(image, "size").asInt(), floats(req(image, "mean")), floats(req(image, "std")), grid,
                req(image, "patch_size").asInt(), template, special, dims, ints(req(m, "sink_dims")),
                calibration(dir), existing(dir, files, "vision"), existing(dir, files, "embed"),
                existing(dir, files, "decoder"), files.has("decoder_plain") ? existing(dir, files, "decoder_plain") : null,
                variants(dir, m.path("decoder_variants")), existing(dir, files, "tokenizer"));
    }

    /** The text before and after {@code {prompt}} in the template. */
    public String[] templateParts() {
        int at = promptTemplate.indexOf("{prompt}");
        return new String[] {promptTemplate.substring(0, at), promptTemplate.substring(at + "{prompt}".length())};
    }

    private static JsonNode req(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new EngineFailureException("model.json: missing field '" + field + "'");
        }
        return v;
    }

    private static Path existing(Path dir, JsonNode files, String key) {
        Path p = dir.resolve(req(files, key).asString());
        if (!Files.isRegularFile(p)) {
            throw new EngineFailureException("model file missing: " + p);
        }
        return p;
    }

    private static List<DecoderVariant> variants(Path dir, JsonNode variants) {
        List<DecoderVariant> out = new ArrayList<>();
        variants.properties().forEach(e -> out.add(new DecoderVariant(e.getKey(), existing(dir, e.getValue(), "file"),
                strings(req(e.getValue(), "inputs")), strings(req(e.getValue(), "outputs")))));
        return List.copyOf(out);
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asString()));
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    private static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    /**
     * calibration.json next to model.json (written by onnx-models/tools/calibrate.py): method -> parameter -> value.
     * A model without one has no calibrated defaults.
     */
    private static Map<String, Object> calibration(Path dir) {
        Path file = dir.resolve("calibration.json");
        if (!Files.exists(file)) {
            return Map.of();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            JSON.readTree(Files.readString(file)).path("methods").properties().forEach(m -> {
                Map<String, Object> params = new LinkedHashMap<>();
                m.getValue().properties().forEach(p -> params.put(p.getKey(), JSON.convertValue(p.getValue().get("value"), Object.class)));
                out.put(m.getKey(), Collections.unmodifiableMap(params));
            });
        } catch (IOException | JacksonException e) {
            throw new EngineFailureException("cannot read " + file + ": " + e.getMessage());
        }
        return Collections.unmodifiableMap(out);
    }

    /** A calibrated parameter default, e.g. {@code ("var", "tau")}: a Number or a List of Numbers. */
    public Object calibrated(String method, String parameter) {
        Object params = calibration.get(method);
        Object v = params instanceof Map<?, ?> m ? m.get(parameter) : null;
        if (v == null) {
            throw new EngineFailureException(dir.resolve("calibration.json") + " has no " + method + "." + parameter
                    + ": run onnx-models/tools/calibrate.py for this model");
        }
        return v;
    }
}
