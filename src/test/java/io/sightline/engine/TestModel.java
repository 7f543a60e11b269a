package io.sightline.engine;

import io.sightline.intervention.InterventionRegistry;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * The shipped model, opened once per test JVM (sessions are thread-safe and expensive to open), and images loaded
 * the way onnx-models/tools/reference.py does: RGB / 255, then (x - mean) / std from model.json.
 */
public final class TestModel {

    public static final Path MODELS = Path.of("onnx-models");
    /** The model under test; {@code -Dsightline.model.dir=...} points the tests (and goldens) at another export. */
    public static final Path DIR = Path.of(System.getProperty("sightline.model.dir", "onnx-models/shapes-vlm"));

    private static ModelBundle bundle;
    private static OrtVlm vlm;
    private static Tokenizer tokenizer;

    private TestModel() {
    }

    public static synchronized ModelBundle bundle() {
        if (bundle == null) {
            bundle = ModelBundle.load(DIR);
        }
        return bundle;
    }

    public static synchronized OrtVlm vlm() {
        if (vlm == null) {
            vlm = OrtVlm.open(bundle(), new EngineOptions("cpu", 1));
        }
        return vlm;
    }

    public static synchronized Tokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = Tokenizer.load(bundle());
        }
        return tokenizer;
    }

    public static Generator generator(InterventionRegistry registry) {
        return new Generator(vlm(), tokenizer(), registry);
    }

    public static Generator generator() {
        return generator(InterventionRegistry.standard(bundle()));
    }

    /** A sample image (already at the model's size) relative to onnx-models/, normalised per model.json. */
    public static ImageInput image(String relative) {
        BufferedImage img;
        try {
            img = ImageIO.read(MODELS.resolve(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ModelBundle b = bundle();
        int h = img.getHeight();
        int w = img.getWidth();
        if (h != b.imageSize() || w != b.imageSize()) {
            throw new IllegalArgumentException(relative + " is " + w + "x" + h + ", tests use images at the model's size");
        }
        float[] px = new float[3 * h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                int[] c = {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
                for (int ch = 0; ch < 3; ch++) {
                    // float32 arithmetic in the same order as reference.py: x/255, then (x - mean) / std
                    float v = (float) c[ch] / 255.0f;
                    px[(ch * h + y) * w + x] = (v - b.mean()[ch]) / b.std()[ch];
                }
            }
        }
        return new ImageInput(px, h, w);
    }

    /** Decoding options of a golden file's {@code decoding} object (greedy, or the portable sampler's settings). */
    public static DecodingOptions decoding(Map<String, Object> d) {
        int max = ((Number) d.get("max_new_tokens")).intValue();
        if (d.get("mode").equals("greedy")) {
            return DecodingOptions.greedy(max);
        }
        return new DecodingOptions(max, ((Number) d.get("temperature")).doubleValue(),
                ((Number) d.get("top_k")).intValue(), ((Number) d.get("top_p")).doubleValue(),
                ((Number) d.get("seed")).longValue(), List.of());
    }
}
