package io.sightline.vision;

import static io.sightline.vision.ImageRejectedException.Reason.CORRUPT;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_BGR2RGB;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;

import io.sightline.engine.ImageInput;
import io.sightline.engine.ModelBundle;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Encoded bytes to {@code vision.onnx} input, as model.json {@code image} prescribes: RGB, resized to
 * {@code size x size} with PIL's BOX filter ({@link PilResample}, as onnx-models/tools/reference.py
 * {@code Reference.pixels} does), {@code (x/255 - mean) / std} per channel, channel-major [3,H,W].
 * Stateless and thread-safe; every native buffer dies with the call.
 */
public final class ImagePreprocessor {

    private final ImageLimits limits;
    private final int size;
    private final float[] mean;
    private final float[] std;

    public ImagePreprocessor(ImageLimits limits, int size, float[] mean, float[] std) {
        if (size < 1 || mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("need a positive size and 3 means and stds");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std must be positive, was " + s);
            }
        }
        this.limits = limits;
        this.size = size;
        this.mean = mean.clone();
        this.std = std.clone();
    }

    public static ImagePreprocessor forModel(ModelBundle model, ImageLimits limits) {
        return new ImagePreprocessor(limits, model.imageSize(), model.mean(), model.std());
    }

    public ImageLimits limits() {
        return limits;
    }

    /**
     * Admits the bytes ({@link ImageLimits#admit}), then decodes, converts and normalises them.
     *
     * @throws ImageRejectedException when the limits refuse the bytes or the decoder cannot read them
     */
    public PreparedImage prepare(byte[] bytes) {
        ImageHeader header = limits.admit(bytes);
        try (PointerScope scope = new PointerScope();
             BytePointer encoded = new BytePointer(bytes);
             Mat encodedMat = new Mat(1, bytes.length, CV_8UC1, encoded);
             Mat bgr = imdecode(encodedMat, IMREAD_COLOR)) {
            if (bgr.empty()) {
                throw new ImageRejectedException(CORRUPT, header.format() + " data could not be decoded");
            }
            boolean asDeclared = bgr.cols() == header.width() && bgr.rows() == header.height();
            boolean rotated = bgr.cols() == header.height() && bgr.rows() == header.width();  // JPEG EXIF orientation
            if (!asDeclared && !rotated) {
                throw new ImageRejectedException(CORRUPT, "decoded " + bgr.cols() + "x" + bgr.rows()
                        + " but the header declares " + header.width() + "x" + header.height());
            }
            try (Mat converted = new Mat()) {
                cvtColor(bgr, converted, COLOR_BGR2RGB);
                byte[] rgb = new byte[converted.rows() * converted.cols() * 3];
                converted.data().get(rgb);
                return new PreparedImage(header, modelInput(rgb, converted.cols(), converted.rows(), size, mean, std));
            }
        }
    }

    /**
     * RGB pixels [h,w,3] of any size to {@code vision.onnx} input: resized to {@code size x size} with PIL's BOX
     * filter when needed (bit for bit the reference's {@code Image.resize((size, size), Image.BOX)}), then
     * normalised. Uploads and images an intervention makes (CARVE's refined crop) take the same path to the model.
     */
    public static ImageInput modelInput(byte[] rgb, int w, int h, int size, float[] mean, float[] std) {
        byte[] model = PilResample.resize(rgb, w, h, size, size, PilResample.Filter.BOX);
        return new ImageInput(normalise(model, size, mean, std), size, size);
    }

    /**
     * The RGB bytes [H,W,3] of model-ready pixels: the inverse of {@link #modelInput}'s normalisation (exact: the
     * float32 round trip stays far within half a grey level). Keep in sync with {@link #normalise}.
     */
    public static byte[] rgb(ImageInput in, float[] mean, float[] std) {
        int plane = in.height() * in.width();
        byte[] out = new byte[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                out[p * 3 + c] = (byte) Math.round((in.pixels()[c * plane + p] * std[c] + mean[c]) * 255f);
            }
        }
        return out;
    }

    // Same float32 arithmetic as the training code: x / 255, then (x - mean) / std.
    private static float[] normalise(byte[] rgb, int size, float[] mean, float[] std) {
        int plane = size * size;
        float[] pixels = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float x = (rgb[p * 3 + c] & 0xFF) / 255f;
                pixels[c * plane + p] = (x - mean[c]) / std[c];
            }
        }
        return pixels;
    }
}
