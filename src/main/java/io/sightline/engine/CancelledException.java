package io.sightline.engine;

/** The caller cancelled the generation (client gone, deadline passed). */
public final class CancelledException extends SightlineException {

    public CancelledException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "cancelled";
    }
}
