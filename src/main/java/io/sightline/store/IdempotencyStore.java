package io.sightline.store;

import io.r2dbc.postgresql.codec.Json;
import java.time.Duration;
import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Mono;

/**
 * {@code Idempotency-Key} rows (db/migration/V4__idempotency.sql), per team of the caller's {@link TeamScope}. A
 * claim is an insert that the unique index lets only one request win, so concurrent repeats cannot both run.
 */
public final class IdempotencyStore {

    /** What a claim found. */
    public sealed interface Claim {
    }

    /** The key is new (or expired): the caller runs the request and then completes or releases the key. */
    public record Claimed() implements Claim {
    }

    /** The first request with this key and the same body finished: its response. */
    public record Stored(int status, String location, String responseJson) implements Claim {
    }

    /** The first request with this key and the same body is still running. */
    public record InProgress() implements Claim {
    }

    /** The key was first used with another body. */
    public record OtherRequest() implements Claim {
    }

    private static final String KEY = "coalesce(team, '') = coalesce(:team, '') AND endpoint = :endpoint"
            + " AND idempotency_key = :key";
    /** A key released between a lost insert and the read is claimed again; more losses than this are a bug. */
    private static final int CLAIM_ATTEMPTS = 3;

    private final DatabaseClient db;
    private final UUID instanceId;

    public IdempotencyStore(DatabaseClient db, UUID instanceId) {
        this.db = db;
        this.instanceId = instanceId;
    }

    /**
     * Claims {@code key} on {@code endpoint} for a request whose parsed content hashes to {@code requestSha256}.
     * Expired keys of every caller are deleted first, which bounds the table without a scheduled job.
     */
    public Mono<Claim> claim(String endpoint, String key, String requestSha256, Duration ttl) {
        return TeamScope.current().flatMap(scope -> db.sql("DELETE FROM idempotency_keys WHERE expires_at < now()")
                .then()
                .then(claim(scope, endpoint, key, requestSha256, ttl, CLAIM_ATTEMPTS)));
    }

    private Mono<Claim> claim(TeamScope scope, String endpoint, String key, String requestSha256, Duration ttl,
                              int attempts) {
        Mono<Claim> insert = bind(db.sql("""
                        INSERT INTO idempotency_keys (team, endpoint, idempotency_key, request_sha256, instance_id,
                                                      expires_at)
                        VALUES (:team, :endpoint, :key, :requestSha256, :instanceId,
                                now() + make_interval(secs => :ttl))
                        ON CONFLICT DO NOTHING
                        RETURNING true AS claimed"""), scope, endpoint, key)
                .bind("requestSha256", requestSha256)
                .bind("instanceId", instanceId)
                .bind("ttl", ttl.toMillis() / 1000.0)
                .map(row -> (Claim) new Claimed())
                .one();
        Mono<Claim> existing = bind(db.sql("SELECT request_sha256, status, location, response FROM idempotency_keys"
                        + " WHERE " + KEY), scope, endpoint, key)
                .map(row -> {
                    Claim found;
                    if (!requestSha256.equals(row.get("request_sha256", String.class))) {
                        found = new OtherRequest();
                    } else if (row.get("status", Integer.class) == null) {
                        found = new InProgress();
                    } else {
                        found = new Stored(row.get("status", Integer.class), row.get("location", String.class),
                                row.get("response", Json.class).asString());
                    }
                    return found;
                })
                .one();
        Mono<Claim> again = attempts > 1
                ? Mono.defer(() -> claim(scope, endpoint, key, requestSha256, ttl, attempts - 1))
                : Mono.error(new IllegalStateException("idempotency key " + key + " kept changing hands"));
        return insert.switchIfEmpty(existing).switchIfEmpty(again);
    }

    /** Stores the response of the request that claimed the key, for repeats to replay. */
    public Mono<Void> complete(String endpoint, String key, int status, String location, String responseJson) {
        return TeamScope.current().flatMap(scope -> {
            var spec = bind(db.sql("UPDATE idempotency_keys SET status = :status, location = :location,"
                    + " response = :response WHERE " + KEY), scope, endpoint, key)
                    .bind("status", status)
                    .bind("response", Json.of(responseJson));
            spec = location == null ? spec.bindNull("location", String.class) : spec.bind("location", location);
            return spec.then();
        });
    }

    /** Forgets a claimed key whose request failed, so that a retry runs. */
    public Mono<Void> release(String endpoint, String key) {
        return TeamScope.current().flatMap(scope -> bind(db.sql("DELETE FROM idempotency_keys WHERE " + KEY
                + " AND status IS NULL"), scope, endpoint, key).then());
    }

    private static DatabaseClient.GenericExecuteSpec bind(DatabaseClient.GenericExecuteSpec spec, TeamScope scope,
                                                          String endpoint, String key) {
        spec = scope.team() == null ? spec.bindNull("team", String.class) : spec.bind("team", scope.team());
        return spec.bind("endpoint", endpoint).bind("key", key);
    }
}
