package io.sightline.engine;

/** A request value is out of range or malformed; {@link #field()} names it (e.g. {@code decoding.top_p}). */
public final class InvalidParamsException extends SightlineException {

    private final String field;

    public InvalidParamsException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }

    @Override
    public String code() {
        return "invalid-params";
    }
}
