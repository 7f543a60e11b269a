package io.sightline.vision;

import io.sightline.engine.ImageInput;

/** An accepted upload: what its header declared and the model-ready pixels made from it. */
public record PreparedImage(ImageHeader header, ImageInput input) {
}
