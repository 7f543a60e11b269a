package io.sightline.engine;

/** {@code mix_mode} values of decoder.onnx (onnx-models/tools/abi.py MIX_*). */
public enum MixMode {
    GIVEN(0), UNIFORM(1), REVERSE(2), REVERSE_NORM(3), PERMUTE(4);

    private final int code;

    MixMode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
