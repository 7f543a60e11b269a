package io.sightline.api;

import io.sightline.engine.SightlineException;

/** The request is valid but the resource's state forbids it (cancelling a completed evaluation). */
public final class InvalidStateException extends SightlineException {

    public InvalidStateException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "invalid-state";
    }
}
