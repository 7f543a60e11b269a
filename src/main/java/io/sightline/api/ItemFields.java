package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * The fields of one uploaded item line, each read with its check; a failed check is recorded under the field's
 * pointer ({@code items[3].label}) with the line number, and the read returns null.
 */
final class ItemFields {

    private final JsonNode line;
    private final String pointer;
    private final int lineNumber;
    private final List<FieldError> errors;
    private boolean ok = true;

    /** @param pointer the item's pointer, {@code items[i]} */
    ItemFields(JsonNode line, String pointer, int lineNumber, List<FieldError> errors) {
        this.line = line;
        this.pointer = pointer;
        this.lineNumber = lineNumber;
        this.errors = errors;
    }

    /** Every field read so far passed its check. */
    boolean ok() {
        return ok;
    }

    Long integer(String name) {
        JsonNode v = line.get(name);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            return fail(name, "must be an integer" + was(v));
        }
        return v.longValue();
    }

    /** A non-blank string. */
    String text(String name) {
        JsonNode v = line.get(name);
        if (v == null || !v.isString() || v.stringValue().isBlank()) {
            return fail(name, "must be a non-blank string" + was(v));
        }
        return v.stringValue();
    }

    String oneOf(String name, List<String> values) {
        String v = text(name);
        if (v != null && !values.contains(v)) {
            return fail(name, "must be one of " + values + ", was \"" + v + "\"");
        }
        return v;
    }

    /** An array of non-blank strings, possibly empty. */
    List<String> texts(String name) {
        JsonNode v = line.get(name);
        if (v == null || !v.isArray()) {
            return fail(name, "must be an array of strings" + was(v));
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode s = v.get(i);
            if (!s.isString() || s.stringValue().isBlank()) {
                return fail(name + "[" + i + "]", "must be a non-blank string, was " + s);
            }
            out.add(s.stringValue());
        }
        return out;
    }

    /** Records a problem with a field (or an element of one, {@code objects[1]}); returns null for the caller. */
    <T> T fail(String field, String message) {
        ok = false;
        errors.add(new FieldError(pointer + "." + field, "line " + lineNumber + ": " + message));
        return null;
    }

    private static String was(JsonNode v) {
        return v == null ? " (missing)" : ", was " + v;
    }
}
