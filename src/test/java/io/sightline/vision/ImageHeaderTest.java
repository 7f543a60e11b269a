package io.sightline.vision;

import static io.sightline.vision.ImageRejectedException.Reason.CORRUPT;
import static io.sightline.vision.ImageRejectedException.Reason.NOT_AN_IMAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Header parsing on hand-made byte strings: dimensions come from the header alone, nothing is decoded. */
class ImageHeaderTest {

    @Test
    void readsPngDimensionsFromIhdr() throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
        assertThat(ImageHeader.read(png)).isEqualTo(new ImageHeader(ImageFormat.PNG, 48, 48));
    }

    @Test
    void readsAHugeDeclaredPngWithoutDecoding() {
        assertThat(ImageHeader.read(CraftedImages.pngHeader(100_000, 70_000)))
                .isEqualTo(new ImageHeader(ImageFormat.PNG, 100_000, 70_000));
    }

    @Test
    void readsJpegStartOfFrameAfterOtherSegments() {
        assertThat(ImageHeader.read(CraftedImages.jpegHeader(0xC2, 640, 480)))
                .isEqualTo(new ImageHeader(ImageFormat.JPEG, 640, 480));
    }

    @Test
    void readsEveryWebpChunkKind() {
        byte[] lossy = riff("VP8 ", new byte[] {0, 0, 0, (byte) 0x9D, 0x01, 0x2A, (byte) 0x80, 0x02, (byte) 0xE0, 0x01});
        assertThat(ImageHeader.read(lossy)).isEqualTo(new ImageHeader(ImageFormat.WEBP, 640, 480));

        int bits = (640 - 1) | ((480 - 1) << 14);
        byte[] lossless = riff("VP8L", ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0x2F).putInt(bits).array());
        assertThat(ImageHeader.read(lossless)).isEqualTo(new ImageHeader(ImageFormat.WEBP, 640, 480));

        assertThat(ImageHeader.read(CraftedImages.webpExtendedHeader(16_000_000, 9_000)))
                .isEqualTo(new ImageHeader(ImageFormat.WEBP, 16_000_000, 9_000));
    }

    @Test
    void rejectsBytesWithoutAKnownSignature() {
        assertReason(new byte[0], NOT_AN_IMAGE);
        assertReason("GIF89a\u0001\u0000\u0001\u0000".getBytes(), NOT_AN_IMAGE);
        assertReason(new byte[] {(byte) 0x89, 'P', 'N'}, NOT_AN_IMAGE);
    }

    @Test
    void rejectsTruncatedOrEmptyHeadersAsCorrupt() {
        byte[] png = CraftedImages.pngHeader(10, 10);
        assertReason(java.util.Arrays.copyOf(png, 20), CORRUPT);
        assertReason(CraftedImages.pngHeader(0, 10), CORRUPT);
        assertReason(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0x00}, CORRUPT);
        assertReason(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0x00, 0x02}, CORRUPT);
        assertReason(riff("VP8 ", new byte[] {0, 0, 0, 1, 2, 3, 4, 5, 6, 7}), CORRUPT);
        assertReason(riff("ANIM", new byte[10]), CORRUPT);
    }

    private static void assertReason(byte[] bytes, ImageRejectedException.Reason reason) {
        assertThatThrownBy(() -> ImageHeader.read(bytes))
                .isInstanceOfSatisfying(ImageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    private static byte[] riff(String chunk, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("RIFF".getBytes());
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(4 + 8 + payload.length).array());
        out.writeBytes("WEBP".getBytes());
        out.writeBytes(chunk.getBytes());
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(payload.length).array());
        out.writeBytes(payload);
        return out.toByteArray();
    }
}
