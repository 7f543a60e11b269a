package io.sightline.intervention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.sightline.engine.ArmResult;
import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.Generator;
import io.sightline.engine.ImageInput;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.TestModel;
import io.sightline.intervention.carve.Carve;
import io.sightline.intervention.carve.Refinement;
import io.sightline.vision.ImagePreprocessor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * CARVE against its reference (onnx-models/tools/methods/carve.py, goldens carve-*.json), step by step; the
 * whole pipeline (tokens, final logits within the file's tolerance, defaults) is checked by MethodParityTest like
 * every method's. The goldens carry the refined image before the model's resize, so the parts are checked apart:
 * <ol>
 * <li>the probe generations, the contrast map, the threshold, the regions, the mask, the box, the refined size
 * and the refined pixels (PIL's Lanczos, bit for bit) are the golden's, the map within float32 rounding of the
 * attention it divides;</li>
 * <li>the final pass on the golden's refined image (PIL's BOX to the model's size, as every upload) gives the
 * golden's tokens and final logits within the file's tolerance.</li>
 * </ol>
 * Cases with {@code two_images} are refused (422), which CarveTest and MethodParityTest check.
 */
class CarveParityTest {

    /**
     * The map divides float32 attention weights (ORT here, torch there; left-padded rows here), so it carries their
     * relative rounding times a few; measured up to 1.5e-6.
     */
    private static final double GRID_RELATIVE = 1e-4;

    private static final ModelBundle MODEL = TestModel.bundle();

    @TestFactory
    Stream<DynamicTest> finalPassOnTheGoldenRefinedImageMatchesTheReference() throws IOException {
        Generator gen = TestModel.generator();
        return served().map(g -> DynamicTest.dynamicTest((String) g.get("case"), () -> {
            GenerationRequest req = new GenerationRequest(goldenRefined(g), (String) g.get("prompt"),
                    decoding(g), List.of(ArmSpec.none()));
            MethodParityTest.assertMatchesGolden(gen, req, g);
        }));
    }

    @TestFactory
    Stream<DynamicTest> probesAndRefinementMatchTheReferenceIntermediates() throws IOException {
        Generator gen = TestModel.generator();
        Carve carve = new Carve(MODEL);
        return served().map(g -> DynamicTest.dynamicTest((String) g.get("case"), () -> {
            String name = (String) g.get("case");
            Map<String, Object> in = intermediates(g);
            Carve.Params p = Params.overlay(carve.defaults(), params(g), "params");
            ImageInput image = TestModel.image((String) g.get("image"));
            Carve.Outcome out = carve.refine(p, gen.prelude(image, (String) g.get("prompt"), Cancellation.create()));
            assertThat(out.questionTokens()).as("%s question probe", name).containsExactly(withoutEos(in.get("probe_question_tokens")));
            assertThat(out.generalTokens()).as("%s general probe", name).containsExactly(withoutEos(in.get("probe_general_tokens")));
            double[] grid = flat(in.get("contrast_grid"));
            for (int j = 0; j < grid.length; j++) {
                assertThat(out.grid()[j]).as("%s contrast grid %d", name, j).isCloseTo(grid[j], offset(GRID_RELATIVE * Math.abs(grid[j])));
            }
            byte[] rgb = ImagePreprocessor.rgb(image, MODEL.mean(), MODEL.std());
            // the image step twice: from the Java grid (the pipeline) and from the golden's (the step alone)
            for (Refinement r : List.of(out.refinement(), Refinement.of(rgb, image.height(), image.width(), grid, p, MODEL))) {
                assertThat(r.tau()).as("%s tau", name).isCloseTo(number(in.get("tau")), offset(GRID_RELATIVE * number(in.get("tau"))));
                assertThat(r.components()).as("%s components", name).isEqualTo(((Number) in.get("components")).intValue());
                assertThat(r.kept()).as("%s kept", name).isEqualTo(ints(in.get("kept")));
                assertThat(r.bboxYx()).as("%s bbox", name).containsExactly(ints(in.get("bbox_yx")).stream().mapToInt(Integer::intValue).toArray());
                assertThat(List.of(r.width(), r.height())).as("%s size", name).isEqualTo(ints(in.get("size_wh")));
                assertThat(maskRows(r, image.width())).as("%s mask", name).isEqualTo(in.get("mask_rows"));
                assertThat(r.rgb()).as("%s refined pixels", name).containsExactly(png(g));
            }
        }));
    }

    @Test
    void keepRatioOneAnswersAsPlainDecoding() {
        Generator gen = TestModel.generator();
        ImageInput image = TestModel.image("samples/scene-b.png");
        String prompt = "what colour is the triangle ?";
        List<ArmResult> r = gen.generate(new GenerationRequest(image, prompt, DecodingOptions.greedy(6),
                List.of(ArmSpec.none(), new ArmSpec("carve", Map.of("keep_ratio", 1.0)))), Cancellation.create());
        assertThat(r.get(1).tokens()).containsExactly(r.get(0).tokens());
    }

    /** Golden cases the engine serves (two_images is refused). */
    private static Stream<Map<String, Object>> served() throws IOException {
        try (Stream<Path> s = Files.list(MethodParityTest.DIR)) {
            return s.filter(p -> p.getFileName().toString().startsWith("carve-")).sorted().map(MethodParityTest::read)
                    .filter(g -> !Boolean.TRUE.equals(params(g).get("two_images"))).toList().stream();
        }
    }

    /** The golden's refined image as the model sees it: the upload path's resize and normalisation. */
    private static ImageInput goldenRefined(Map<String, Object> g) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(pngBytes(g)));
        return ImagePreprocessor.modelInput(png(g), img.getWidth(), img.getHeight(), MODEL.imageSize(), MODEL.mean(),
                MODEL.std());
    }

    /** The golden's refined image, RGB [H,W,3]. */
    private static byte[] png(Map<String, Object> g) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(pngBytes(g)));
        byte[] out = new byte[img.getHeight() * img.getWidth() * 3];
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int at = (y * img.getWidth() + x) * 3;
                out[at] = (byte) (rgb >> 16);
                out[at + 1] = (byte) (rgb >> 8);
                out[at + 2] = (byte) rgb;
            }
        }
        return out;
    }

    private static byte[] pngBytes(Map<String, Object> g) {
        return Base64.getDecoder().decode((String) intermediates(g).get("refined_png_base64"));
    }

    private static List<String> maskRows(Refinement r, int w) {
        List<String> rows = new ArrayList<>();
        for (int y = 0; y < r.mask().length / w; y++) {
            StringBuilder b = new StringBuilder();
            for (int x = 0; x < w; x++) {
                b.append(r.mask()[y * w + x] ? '1' : '0');
            }
            rows.add(b.toString());
        }
        return rows;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> params(Map<String, Object> g) {
        return (Map<String, Object>) g.get("params");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> intermediates(Map<String, Object> g) {
        return (Map<String, Object>) g.get("intermediates");
    }

    @SuppressWarnings("unchecked")
    private static DecodingOptions decoding(Map<String, Object> g) {
        return TestModel.decoding((Map<String, Object>) g.get("decoding"));
    }

    private static List<Integer> ints(Object v) {
        return ((List<?>) v).stream().map(n -> ((Number) n).intValue()).toList();
    }

    private static int[] withoutEos(Object tokens) {
        List<Integer> t = new ArrayList<>(ints(tokens));
        if (!t.isEmpty() && t.get(t.size() - 1) == MODEL.specialTokens().eosId()) {
            t.remove(t.size() - 1);
        }
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    private static double[] flat(Object grid) {
        return ((List<?>) grid).stream().flatMap(row -> ((List<?>) row).stream()).mapToDouble(v -> ((Number) v).doubleValue()).toArray();
    }

    private static double number(Object v) {
        return ((Number) v).doubleValue();
    }
}
