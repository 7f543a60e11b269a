package io.sightline.engine;

/**
 * Base of every error the core throws. {@link #code()} is stable: {@code api/} maps it to a ProblemDetail type
 * in one table, so a new subclass needs a new row there, never a new catch block.
 */
public abstract class SightlineException extends RuntimeException {

    protected SightlineException(String message) {
        super(message);
    }

    protected SightlineException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Stable machine-readable code, e.g. {@code invalid-params}. */
    public abstract String code();
}
