package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.SightlineException;
import java.util.List;

/**
 * An uploaded benchmark set that cannot run: {@link #errors()} names each problem by where it is, e.g.
 * {@code items[3].label} (the item on the fourth line), {@code images[a.png]} (the image part with that filename)
 * or {@code synonyms.circle}. At most {@link #LISTED} are listed; the message counts them all.
 */
public final class InvalidSetException extends SightlineException {

    static final int LISTED = 50;

    private final List<FieldError> errors;

    public InvalidSetException(List<FieldError> errors) {
        super(message(errors));
        this.errors = List.copyOf(errors.subList(0, Math.min(LISTED, errors.size())));
    }

    public InvalidSetException(String field, String message) {
        this(List.of(new FieldError(field, message)));
    }

    private static String message(List<FieldError> errors) {
        if (errors.size() == 1) {
            return errors.get(0).field() + ": " + errors.get(0).message();
        }
        return "the uploaded set has " + errors.size() + " problems"
                + (errors.size() > LISTED ? "; the first " + LISTED + " are listed" : "") + " (see errors)";
    }

    public List<FieldError> errors() {
        return errors;
    }

    @Override
    public String code() {
        return "invalid-set";
    }
}
