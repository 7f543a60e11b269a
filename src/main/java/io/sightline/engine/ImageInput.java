package io.sightline.engine;

/**
 * One image ready for {@code vision.onnx}: RGB, resized to the model's size and normalised with its mean/std
 * ({@link ModelBundle#imageSize()}, {@link ModelBundle#mean()}, {@link ModelBundle#std()}).
 *
 * @param pixels [3,H,W] channel-major
 */
public record ImageInput(float[] pixels, int height, int width) {

    public ImageInput {
        if (pixels == null || height < 1 || width < 1 || pixels.length != 3L * height * width) {
            throw new InvalidParamsException("image", "pixels must hold 3*height*width floats");
        }
    }
}
