package io.sightline.engine;

/** A request value is out of range or malformed; {@link #field()} names it (e.g. {@code decoding.top_p}). */
public final class InvalidParamsException extends SightlineException {

    private final String field;
    private final String reason;

    public InvalidParamsException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
        this.reason = reason;
    }

    public String field() {
        return field;
    }

    /** The message without the field. */
    public String reason() {
        return reason;
    }

    /** The same problem with the field placed under {@code parent} (e.g. {@code arms[0].params}). */
    public InvalidParamsException under(String parent) {
        return new InvalidParamsException(parent + "." + field, reason);
    }

    @Override
    public String code() {
        return "invalid-params";
    }
}
