package io.sightline.api;

import io.sightline.engine.SightlineException;
import java.util.List;
import java.util.stream.Collectors;

/** The request body or query is malformed or out of range; {@link #errors()} lists every offending field. */
public final class InvalidRequestException extends SightlineException {

    /** One offending field, by its JSON path ({@code arms[1].intervention}). */
    public record FieldError(String field, String message) {
    }

    private final List<FieldError> errors;

    public InvalidRequestException(List<FieldError> errors) {
        super(errors.stream().map(e -> e.field() + ": " + e.message()).collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    public InvalidRequestException(String field, String message) {
        this(List.of(new FieldError(field, message)));
    }

    public List<FieldError> errors() {
        return errors;
    }

    @Override
    public String code() {
        return "invalid-request";
    }
}
