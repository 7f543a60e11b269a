package io.sightline.engine;

/** No capacity to admit the request now; the caller may retry later (429 at the edge). */
public final class OverloadedException extends SightlineException {

    public OverloadedException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "overloaded";
    }
}
