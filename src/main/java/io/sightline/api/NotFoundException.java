package io.sightline.api;

import io.sightline.engine.SightlineException;

/** The addressed resource does not exist. */
public final class NotFoundException extends SightlineException {

    public NotFoundException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "not-found";
    }
}
