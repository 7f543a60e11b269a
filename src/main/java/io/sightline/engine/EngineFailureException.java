package io.sightline.engine;

import ai.onnxruntime.OrtException;

/**
 * ONNX Runtime failed. Wraps the {@link OrtException} once, keeping its error code and the decode step
 * (0 = prefill, -1 = outside the step loop: session creation, vision, embedding).
 */
public final class EngineFailureException extends SightlineException {

    private final OrtException.OrtErrorCode ortCode;
    private final int step;

    public EngineFailureException(String what, int step, OrtException cause) {
        super(what + " failed at step " + step + " (" + cause.getCode() + "): " + cause.getMessage(), cause);
        this.ortCode = cause.getCode();
        this.step = step;
    }

    public EngineFailureException(String message) {
        super(message);
        this.ortCode = OrtException.OrtErrorCode.ORT_FAIL;
        this.step = -1;
    }

    public OrtException.OrtErrorCode ortCode() {
        return ortCode;
    }

    public int step() {
        return step;
    }

    @Override
    public String code() {
        return "engine-failure";
    }
}
