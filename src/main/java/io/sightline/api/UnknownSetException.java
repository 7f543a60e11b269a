package io.sightline.api;

import io.sightline.engine.SightlineException;
import java.util.List;

/** An evaluation names a benchmark set that is not shipped; {@link #known()} lists those that are. */
public final class UnknownSetException extends SightlineException {

    private final List<String> known;

    public UnknownSetException(String name, List<String> known) {
        super("no benchmark set '" + name + "'; known: " + String.join(", ", known));
        this.known = List.copyOf(known);
    }

    public List<String> known() {
        return known;
    }

    @Override
    public String code() {
        return "unknown-set";
    }
}
