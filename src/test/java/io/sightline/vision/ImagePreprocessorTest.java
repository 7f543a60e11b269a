package io.sightline.vision;

import static io.sightline.vision.ImageRejectedException.Reason.CORRUPT;
import static io.sightline.vision.ImageRejectedException.Reason.NOT_AN_IMAGE;
import static io.sightline.vision.ImageRejectedException.Reason.TOO_MANY_BYTES;
import static io.sightline.vision.ImageRejectedException.Reason.TOO_MANY_PIXELS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real OpenCV decoding on the shipped samples and on crafted bad inputs; expected pixels come from javax.imageio. */
class ImagePreprocessorTest {

    private static final float[] MEAN = {0.5f, 0.5f, 0.5f};
    private static final float[] STD = {0.25f, 0.25f, 0.25f};
    private static final ImageLimits LIMITS = new ImageLimits(1 << 20, 4096L * 4096);
    private final ImagePreprocessor preprocessor = new ImagePreprocessor(LIMITS, 48, MEAN, STD);

    @ParameterizedTest
    @ValueSource(strings = {"scene-a.png", "scene-b.png", "scene-c.png"})
    void normalisesSamplesChannelMajorInRgbOrder(String name) throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples", name));
        PreparedImage prepared = preprocessor.prepare(png);

        assertThat(prepared.header()).isEqualTo(new ImageHeader(ImageFormat.PNG, 48, 48));
        assertThat(prepared.input().height()).isEqualTo(48);
        assertThat(prepared.input().width()).isEqualTo(48);
        assertThat(prepared.input().pixels()).containsExactly(expectedPixels(ImageIO.read(new ByteArrayInputStream(png))));
    }

    @Test
    void resizesWithPilBox() {
        // 144 -> 48 is a factor of 3: PIL's BOX averages each 3x3 block (two passes, each rounding: within a grey
        // level of the exact mean), bilinear would take its centre; PilResampleTest checks it bit for bit
        int[] rgb = new int[144 * 144];
        Random random = new Random(11);
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = random.nextInt(1 << 24);
        }
        BufferedImage big = new BufferedImage(144, 144, BufferedImage.TYPE_INT_RGB);
        big.setRGB(0, 0, 144, 144, rgb, 0, 144);

        float[] pixels = preprocessor.prepare(encode(big, "png")).input().pixels();

        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 48; y++) {
                for (int x = 0; x < 48; x++) {
                    double sum = 0;
                    for (int dy = 0; dy < 3; dy++) {
                        for (int dx = 0; dx < 3; dx++) {
                            sum += channel(rgb[(3 * y + dy) * 144 + 3 * x + dx], c);
                        }
                    }
                    float expected = ((float) Math.round(sum / 9) / 255f - 0.5f) / 0.25f;
                    assertThat(pixels[c * 48 * 48 + y * 48 + x]).isCloseTo(expected, within(1.01f / 255 / 0.25f));
                }
            }
        }
    }

    @Test
    void decodesJpegCloseToTheLosslessOriginal() throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
        byte[] jpeg = encode(ImageIO.read(new ByteArrayInputStream(png)), "jpg");

        PreparedImage prepared = preprocessor.prepare(jpeg);

        assertThat(prepared.header()).isEqualTo(new ImageHeader(ImageFormat.JPEG, 48, 48));
        float[] reference = preprocessor.prepare(png).input().pixels();
        double meanAbsError = 0;
        for (int i = 0; i < reference.length; i++) {
            meanAbsError += Math.abs(reference[i] - prepared.input().pixels()[i]) / reference.length;
        }
        assertThat(meanAbsError).isLessThan(0.1);
    }

    @Test
    void decodesLosslessWebpExactly() throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-b.png"));
        byte[] webp = encodeWithOpenCv(png, ".webp", 101);    // quality > 100 selects lossless in OpenCV

        PreparedImage prepared = preprocessor.prepare(webp);

        assertThat(prepared.header()).isEqualTo(new ImageHeader(ImageFormat.WEBP, 48, 48));
        assertThat(prepared.input().pixels()).containsExactly(preprocessor.prepare(png).input().pixels());
    }

    @Test
    void expandsGreyscaleToThreeEqualChannels() {
        BufferedImage grey = new BufferedImage(48, 48, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(5, 7, 0, 200);
        float[] pixels = preprocessor.prepare(encode(grey, "png")).input().pixels();
        int at = 7 * 48 + 5;
        float expected = (200 / 255f - 0.5f) / 0.25f;
        assertThat(new float[] {pixels[at], pixels[48 * 48 + at], pixels[2 * 48 * 48 + at]})
                .containsExactly(expected, expected, expected);
    }

    @Test
    void rejectsEmptyAndRandomBytesAsNotAnImage() {
        byte[] random = new byte[4096];
        new Random(3).nextBytes(random);
        random[0] = 'x';
        assertRejected(new byte[0], NOT_AN_IMAGE);
        assertRejected(random, NOT_AN_IMAGE);
    }

    @Test
    void rejectsATruncatedPngAsCorrupt() throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-c.png"));
        assertRejected(Arrays.copyOf(png, png.length / 2), CORRUPT);
        assertRejected(CraftedImages.pngHeader(48, 48), CORRUPT);
    }

    @Test
    void rejectsBombsFromTheHeaderAlone() {
        assertRejected(CraftedImages.pngHeader(100_000, 100_000), TOO_MANY_PIXELS);
        assertRejected(CraftedImages.jpegHeader(0xC0, 65_000, 65_000), TOO_MANY_PIXELS);
        assertRejected(CraftedImages.webpExtendedHeader(100_000, 100_000), TOO_MANY_PIXELS);
    }

    @Test
    void rejectsMoreBytesThanTheLimitBeforeLookingAtThem() throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
        ImagePreprocessor strict = new ImagePreprocessor(new ImageLimits(png.length - 1, 4096), 48, MEAN, STD);
        assertThatThrownBy(() -> strict.prepare(png))
                .isInstanceOfSatisfying(ImageRejectedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(TOO_MANY_BYTES);
                    assertThat(e.code()).isEqualTo("payload-too-large");
                });
    }

    private void assertRejected(byte[] bytes, ImageRejectedException.Reason reason) {
        assertThatThrownBy(() -> preprocessor.prepare(bytes))
                .isInstanceOfSatisfying(ImageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    private static float[] expectedPixels(BufferedImage image) {
        int plane = image.getWidth() * image.getHeight();
        float[] out = new float[3 * plane];
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int argb = image.getRGB(x, y);
                for (int c = 0; c < 3; c++) {
                    out[c * plane + y * image.getWidth() + x] = (channel(argb, c) / 255f - MEAN[c]) / STD[c];
                }
            }
        }
        return out;
    }

    private static int channel(int rgb, int c) {
        return (rgb >> (16 - 8 * c)) & 0xFF;
    }

    private static byte[] encode(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, format, out);
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] encodeWithOpenCv(byte[] png, String extension, int quality) {
        try (BytePointer in = new BytePointer(png);
             Mat encoded = new Mat(1, png.length, org.bytedeco.opencv.global.opencv_core.CV_8UC1, in);
             Mat image = org.bytedeco.opencv.global.opencv_imgcodecs.imdecode(encoded, 1);
             BytePointer out = new BytePointer();
             IntPointer params = new IntPointer(org.bytedeco.opencv.global.opencv_imgcodecs.IMWRITE_WEBP_QUALITY, quality)) {
            if (!imencode(extension, image, out, params)) {
                throw new IllegalStateException("OpenCV cannot encode " + extension);
            }
            byte[] bytes = new byte[(int) out.limit()];
            out.get(bytes);
            return bytes;
        }
    }
}
