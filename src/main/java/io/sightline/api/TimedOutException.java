package io.sightline.api;

import io.sightline.engine.SightlineException;

/** A generation ran past its timeout ({@code timeout_ms} or {@code sightline.engine.request-timeout}) and was cancelled. */
public final class TimedOutException extends SightlineException {

    public TimedOutException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "timeout";
    }
}
