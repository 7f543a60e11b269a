package io.sightline.api;

import io.sightline.engine.SightlineException;

/**
 * A well-formed request that asks for something this service does not do (fetch an image URL, several images,
 * a multi-turn conversation); {@link #field()} names the part of the request.
 */
public final class RefusedRequestException extends SightlineException {

    private final ProblemType type;
    private final String field;

    public RefusedRequestException(ProblemType type, String field, String message) {
        super(field + ": " + message);
        this.type = type;
        this.field = field;
    }

    public String field() {
        return field;
    }

    @Override
    public String code() {
        return type.code();
    }
}
