package io.sightline.store;

import java.time.Duration;
import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Mono;

/**
 * This instance's row in {@code instances} (db/migration/V3__instances.sql), and the clean-up after an instance that
 * is gone: its running generations become {@code failed} with the reason and its idempotency keys in progress are
 * released, in one statement, so a crash between the two cannot happen. Several instances may run the clean-up at
 * once: deleting the instance row is the claim, and only one statement gets it.
 */
public final class InstanceStore {

    /** Deletes the instances named by {@code gone} and fails what they left behind; {@code %s} is the reason. */
    private static final String RELEASE = """
            WITH gone AS (%s RETURNING id, heartbeat_at),
                 released_keys AS (DELETE FROM idempotency_keys k USING gone
                                   WHERE k.instance_id = gone.id AND k.status IS NULL)
            UPDATE generations g SET status = 'failed', finished_at = now(), reason = %s
            FROM gone WHERE g.instance_id = gone.id AND g.status = 'running'""";

    private final DatabaseClient db;
    private final UUID id;

    public InstanceStore(DatabaseClient db, UUID id) {
        this.db = db;
        this.id = id;
    }

    /** This instance; stored on every generation it accepts. */
    public UUID id() {
        return id;
    }

    /** Says this instance is alive; also brings its row back if another instance had declared it dead. */
    public Mono<Void> heartbeat() {
        return db.sql("""
                        INSERT INTO instances (id) VALUES (:id)
                        ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()""")
                .bind("id", id)
                .then();
    }

    /**
     * Fails the generations of every other instance silent for longer than {@code staleAfter}.
     *
     * @return how many generations were failed
     */
    public Mono<Long> releaseStale(Duration staleAfter) {
        return db.sql(RELEASE.formatted(
                        "DELETE FROM instances WHERE id <> :id AND heartbeat_at < now() - make_interval(secs => :stale)",
                        "'instance-lost: instance ' || gone.id || ' stopped sending heartbeats at '"
                                + " || gone.heartbeat_at || ' before this generation finished'"))
                .bind("id", id)
                .bind("stale", staleAfter.toMillis() / 1000.0)
                .fetch().rowsUpdated();
    }

    /**
     * At shutdown, after the grace period: fails this instance's generations still running with {@code reason} and
     * removes its row.
     *
     * @return how many generations were failed
     */
    public Mono<Long> release(String reason) {
        return db.sql(RELEASE.formatted("DELETE FROM instances WHERE id = :id", ":reason"))
                .bind("id", id)
                .bind("reason", reason)
                .fetch().rowsUpdated();
    }
}
