package io.sightline.engine;

import java.util.List;

/** An arm names an intervention the registry does not have; the message lists the ones it has. */
public final class UnknownInterventionException extends SightlineException {

    private final String name;
    private final List<String> known;

    public UnknownInterventionException(String name, List<String> known) {
        super("unknown intervention '" + name + "'; known: " + String.join(", ", known));
        this.name = name;
        this.known = List.copyOf(known);
    }

    public String name() {
        return name;
    }

    public List<String> known() {
        return known;
    }

    @Override
    public String code() {
        return "unknown-intervention";
    }
}
