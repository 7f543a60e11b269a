package io.sightline.engine;

/** Two writers claimed the same exclusive control slot of one row (STYLE.md §2.2). */
public final class ControlConflictException extends SightlineException {

    public ControlConflictException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "control-conflict";
    }
}
