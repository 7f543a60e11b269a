package io.sightline.store;

import io.r2dbc.spi.Readable;
import java.time.Instant;
import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Team API keys (db/migration/V5__api_keys.sql), looked up by the SHA-256 of the key; the key itself is never stored. */
public final class ApiKeyStore {

    /**
     * A key as stored: everything but the key.
     *
     * @param prefix    the key's first characters
     * @param revokedAt null while the key works
     */
    public record ApiKey(UUID id, String team, String name, String prefix, Instant createdAt, Instant revokedAt) {
    }

    private static final String COLUMNS = "id, team, name, key_prefix, created_at, revoked_at";

    private final DatabaseClient db;

    public ApiKeyStore(DatabaseClient db) {
        this.db = db;
    }

    public Mono<ApiKey> create(String team, String name, String keySha256, String prefix) {
        return db.sql("INSERT INTO api_keys (id, team, name, key_sha256, key_prefix)"
                        + " VALUES (:id, :team, :name, :keySha256, :prefix) RETURNING " + COLUMNS)
                .bind("id", UUID.randomUUID())
                .bind("team", team)
                .bind("name", name)
                .bind("keySha256", keySha256)
                .bind("prefix", prefix)
                .map(ApiKeyStore::apiKey)
                .one();
    }

    /** The team of a working key; empty for an unknown or revoked one. */
    public Mono<String> teamOf(String keySha256) {
        return db.sql("SELECT team FROM api_keys WHERE key_sha256 = :keySha256 AND revoked_at IS NULL")
                .bind("keySha256", keySha256)
                .map(row -> row.get("team", String.class))
                .one();
    }

    /** Oldest first; {@code team} null for every team's. */
    public Flux<ApiKey> list(String team) {
        var spec = db.sql("SELECT " + COLUMNS + " FROM api_keys WHERE (CAST(:team AS text) IS NULL OR team = :team)"
                + " ORDER BY team, created_at");
        spec = team == null ? spec.bindNull("team", String.class) : spec.bind("team", team);
        return spec.map(ApiKeyStore::apiKey).all();
    }

    /** Revokes the key (at once: the next request with it is refused); empty when there is no such key. */
    public Mono<ApiKey> revoke(UUID id) {
        return db.sql("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id RETURNING " + COLUMNS)
                .bind("id", id)
                .map(ApiKeyStore::apiKey)
                .one();
    }

    private static ApiKey apiKey(Readable row) {
        return new ApiKey(row.get("id", UUID.class), row.get("team", String.class), row.get("name", String.class),
                row.get("key_prefix", String.class), Columns.instant(row, "created_at"),
                Columns.instant(row, "revoked_at"));
    }
}
