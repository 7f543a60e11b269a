package io.sightline.intervention;

import io.sightline.engine.InvalidParamsException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parameter records as JSON-like maps: request values overlay a method's defaults and re-run the record's
 * constructor, so validation lives in one place. API keys are the components' names in snake_case.
 */
public final class Params {

    private Params() {
    }

    /** One parameter for the API schema; {@code range} null when the parameter declares none. */
    public record Spec(String name, String type, Object defaultValue, Range range) {
    }

    /** {@code defaults} with {@code values} laid over it; unknown keys and wrong types are invalid-params. */
    public static <P extends Record> P overlay(P defaults, Map<String, Object> values, String field) {
        RecordComponent[] comps = defaults.getClass().getRecordComponents();
        Map<String, RecordComponent> byKey = new LinkedHashMap<>();
        for (RecordComponent c : comps) {
            byKey.put(snake(c.getName()), c);
        }
        for (String key : values.keySet()) {
            if (!byKey.containsKey(key)) {
                throw new InvalidParamsException(field + "." + key,
                        "unknown parameter; known: " + (byKey.isEmpty() ? "(none)" : String.join(", ", byKey.keySet())));
            }
        }
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        for (int i = 0; i < comps.length; i++) {
            String key = snake(comps[i].getName());
            types[i] = comps[i].getType();
            args[i] = values.containsKey(key) ? coerce(values.get(key), types[i], field + "." + key) : get(comps[i], defaults);
        }
        try {
            @SuppressWarnings("unchecked")
            Constructor<P> ctor = (Constructor<P>) defaults.getClass().getDeclaredConstructor(types);
            ctor.setAccessible(true);
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof InvalidParamsException ipe) {
                // records name their own components; the request knows where the arm sits
                throw ipe.under(field);
            }
            throw new InvalidParamsException(field, String.valueOf(e.getCause().getMessage()));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("parameter record " + defaults.getClass() + " is not constructible", e);
        }
    }

    /** The record as an ordered snake_case map (what ArmResult reports as the effective parameters). */
    public static Map<String, Object> toMap(Record p) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : p.getClass().getRecordComponents()) {
            Object v = get(c, p);
            out.put(snake(c.getName()), v instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : v);
        }
        return out;
    }

    /** Name, JSON type and default of every parameter. */
    public static List<Spec> describe(Record defaults) {
        List<Spec> out = new ArrayList<>();
        Map<String, Object> values = toMap(defaults);
        for (RecordComponent c : defaults.getClass().getRecordComponents()) {
            String key = snake(c.getName());
            out.add(new Spec(key, jsonType(c.getType()), values.get(key), c.getAnnotation(Range.class)));
        }
        return out;
    }

    static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    private static Object get(RecordComponent c, Record r) {
        try {
            c.getAccessor().setAccessible(true);
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c, e);
        }
    }

    private static String jsonType(Class<?> t) {
        if (t == int.class || t == long.class || t == Integer.class || t == Long.class) {
            return "integer";
        }
        if (t == double.class || t == float.class || t == Double.class || t == Float.class) {
            return "number";
        }
        if (t == boolean.class || t == Boolean.class) {
            return "boolean";
        }
        if (List.class.isAssignableFrom(t)) {
            return "array";
        }
        return "string";
    }

    private static Object coerce(Object v, Class<?> t, String field) {
        if (v == null) {
            if (t.isPrimitive()) {
                throw new InvalidParamsException(field, "must not be null");
            }
            return null;
        }
        if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
            if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
                throw new InvalidParamsException(field, "must be an integer, was " + v);
            }
            return t == int.class || t == Integer.class ? (Object) n.intValue() : (Object) n.longValue();
        }
        if (t == double.class || t == Double.class || t == float.class || t == Float.class) {
            if (!(v instanceof Number n)) {
                throw new InvalidParamsException(field, "must be a number, was " + v);
            }
            return t == float.class || t == Float.class ? (Object) n.floatValue() : (Object) n.doubleValue();
        }
        if (t == boolean.class || t == Boolean.class) {
            if (!(v instanceof Boolean)) {
                throw new InvalidParamsException(field, "must be true or false, was " + v);
            }
            return v;
        }
        if (t == String.class) {
            if (!(v instanceof String)) {
                throw new InvalidParamsException(field, "must be a string, was " + v);
            }
            return v;
        }
        if (t.isEnum()) {
            for (Object c : t.getEnumConstants()) {
                if (((Enum<?>) c).name().equalsIgnoreCase(String.valueOf(v))) {
                    return c;
                }
            }
            throw new InvalidParamsException(field, "must be one of " + Arrays.toString(t.getEnumConstants()).toLowerCase(Locale.ROOT));
        }
        if (List.class.isAssignableFrom(t)) {
            if (!(v instanceof List<?> l)) {
                throw new InvalidParamsException(field, "must be an array, was " + v);
            }
            return List.copyOf(l);
        }
        throw new IllegalStateException("unsupported parameter type " + t + " for " + field);
    }
}
