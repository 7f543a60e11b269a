package io.sightline.intervention;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.UnknownInterventionException;
import io.sightline.intervention.carve.Carve;
import io.sightline.intervention.causalmm.CausalMm;
import io.sightline.intervention.gift.Gift;
import io.sightline.intervention.iaf.Iaf;
import io.sightline.intervention.lqcd.Lqcd;
import io.sightline.intervention.m3id.M3id;
import io.sightline.intervention.none.None;
import io.sightline.intervention.pai.Pai;
import io.sightline.intervention.var.Var;
import io.sightline.intervention.vcd.Vcd;
import io.sightline.intervention.vhr.Vhr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The interventions a service offers, by name. Immutable; safe to share between threads. */
public final class InterventionRegistry {

    private final Map<String, Intervention<?>> byName;

    private InterventionRegistry(Map<String, Intervention<?>> byName) {
        this.byName = byName;
    }

    /** Every built-in method, with the calibrated defaults of {@code model}. */
    public static InterventionRegistry standard(ModelBundle model) {
        return of(None.INSTANCE, new CausalMm(model), new Vhr(model), new Var(model), new Gift(model),
                new Carve(model), new Iaf(model), new Lqcd(), new Vcd(), new Pai(model), new M3id(model));
    }

    public static InterventionRegistry of(Intervention<?>... interventions) {
        Map<String, Intervention<?>> m = new LinkedHashMap<>();
        for (Intervention<?> iv : interventions) {
            if (m.putIfAbsent(iv.name(), iv) != null) {
                throw new IllegalArgumentException("two interventions named " + iv.name());
            }
        }
        return new InterventionRegistry(m);
    }

    /** Names in registration order. */
    public List<String> known() {
        return new ArrayList<>(byName.keySet());
    }

    public Intervention<?> get(String name) {
        Intervention<?> iv = byName.get(name);
        if (iv == null) {
            throw new UnknownInterventionException(name, known());
        }
        return iv;
    }

    /**
     * Looks up the arm's intervention and validates its parameters over the defaults. A name joined with
     * {@code +} (e.g. {@code var+vcd}) composes several interventions in one arm; its params are keyed by part
     * name ({@code {"var": {...}, "vcd": {...}}}).
     *
     * @param field where the arm sits in the request, for error messages (e.g. {@code arms[1].params})
     */
    public BoundArm bind(ArmSpec spec, String field) {
        if (!spec.intervention().contains(Composition.SEPARATOR)) {
            return BoundArm.bind(get(spec.intervention()), spec.params(), field);
        }
        List<String> names = List.of(spec.intervention().split("\\+", -1));
        if (names.stream().anyMatch(String::isBlank) || names.stream().distinct().count() != names.size()) {
            throw new InvalidParamsException(field.replaceFirst("params$", "intervention"),
                    "a composition names distinct interventions joined by '+', was '" + spec.intervention() + "'");
        }
        for (String key : spec.params().keySet()) {
            if (!names.contains(key)) {
                throw new InvalidParamsException(field + "." + key, "a composition's params are keyed by its parts: "
                        + String.join(", ", names));
            }
        }
        List<BoundArm> parts = new ArrayList<>();
        for (String name : names) {
            Object values = spec.params().getOrDefault(name, Map.of());
            if (!(values instanceof Map<?, ?> map)) {
                throw new InvalidParamsException(field + "." + name, "must be an object of that part's parameters");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> typed = (Map<String, Object>) map;
            parts.add(BoundArm.bind(get(name), typed, field + "." + name));
        }
        return BoundArm.compose(parts, field);
    }
}
