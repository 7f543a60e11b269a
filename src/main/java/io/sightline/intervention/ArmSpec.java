package io.sightline.intervention;

import io.sightline.engine.InvalidParamsException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One arm of a request: an intervention by registry name and its parameters (overlaying the method's defaults).
 *
 * @param intervention registry name, e.g. {@code none}, {@code vcd}
 * @param params       JSON-like values (Number, Boolean, String, List, Map); empty = the method's defaults
 */
public record ArmSpec(String intervention, Map<String, Object> params) {

    public ArmSpec {
        if (intervention == null || intervention.isBlank()) {
            throw new InvalidParamsException("arms.intervention", "must not be blank");
        }
        // null is a value here (an optional parameter switched off), so no Map.copyOf
        params = params == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    public static ArmSpec none() {
        return new ArmSpec("none", Map.of());
    }

    /** The arm name that composes {@code parts} in this order (see {@link Composition}), e.g. {@code var+vcd}. */
    public static String composedName(List<String> parts) {
        return String.join(Composition.SEPARATOR, parts);
    }
}
