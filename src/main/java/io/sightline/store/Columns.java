package io.sightline.store;

import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Readable;
import java.time.Instant;
import java.time.OffsetDateTime;

/** Reads the column types every store maps the same way: json/jsonb as text, timestamptz as an Instant. */
final class Columns {

    private Columns() {
    }

    static String json(Readable row, String column) {
        Json json = row.get(column, Json.class);
        return json == null ? null : json.asString();
    }

    static Instant instant(Readable row, String column) {
        OffsetDateTime t = row.get(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}
