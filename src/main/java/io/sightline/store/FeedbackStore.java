package io.sightline.store;

import io.r2dbc.spi.Readable;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Feedback on live generations and the per-arm aggregates of stored generations (db/migration/V2__evaluations.sql).
 * Feedback is keyed by a generation the caller has already found in its {@link TeamScope}; the aggregates read
 * within the scope themselves.
 */
public final class FeedbackStore {

    private final DatabaseClient db;
    private final TransactionalOperator tx;

    public FeedbackStore(DatabaseClient db, TransactionalOperator tx) {
        this.db = db;
        this.tx = tx;
    }

    /** Stores the feedback and its per-arm judgements in one transaction. */
    public Mono<Void> save(NewFeedback f) {
        var insert = db.sql("INSERT INTO feedback (id, generation_id, preferred_arm, note) VALUES (:id, :g, :preferred, :note)")
                .bind("id", f.id())
                .bind("g", f.generationId());
        insert = f.preferredArm() == null ? insert.bindNull("preferred", Integer.class) : insert.bind("preferred", f.preferredArm());
        insert = f.note() == null ? insert.bindNull("note", String.class) : insert.bind("note", f.note());
        Mono<Void> work = insert.then().then(Flux.fromIterable(f.arms()).concatMap(a -> {
            var arm = db.sql("""
                            INSERT INTO feedback_arms (feedback_id, generation_id, arm_index, hallucinated, note)
                            VALUES (:id, :g, :arm, :hallucinated, :note)""")
                    .bind("id", f.id())
                    .bind("g", f.generationId())
                    .bind("arm", a.arm())
                    .bind("hallucinated", a.hallucinated());
            return (a.note() == null ? arm.bindNull("note", String.class) : arm.bind("note", a.note())).then();
        }).then());
        return tx.transactional(work);
    }

    /** A generation's feedback, oldest first. */
    public Mono<List<StoredFeedback>> forGeneration(UUID generationId) {
        return db.sql("SELECT id, generation_id, preferred_arm, note, created_at FROM feedback"
                        + " WHERE generation_id = :g ORDER BY created_at, id")
                .bind("g", generationId)
                .map(row -> new StoredFeedback(row.get("id", UUID.class), row.get("generation_id", UUID.class),
                        row.get("preferred_arm", Integer.class), row.get("note", String.class), List.of(),
                        Columns.instant(row, "created_at")))
                .all()
                .concatMap(f -> db.sql("SELECT arm_index, hallucinated, note FROM feedback_arms WHERE feedback_id = :id"
                                + " ORDER BY arm_index")
                        .bind("id", f.id())
                        .map(row -> new NewFeedback.Arm(row.get("arm_index", Integer.class),
                                row.get("hallucinated", Boolean.class), row.get("note", String.class)))
                        .all().collectList()
                        .map(arms -> new StoredFeedback(f.id(), f.generationId(), f.preferredArm(), f.note(), arms,
                                f.createdAt())))
                .collectList();
    }

    /**
     * The caller's team's completed generations created in [from, to) (either bound null = open), optionally only
     * those with an arm of {@code intervention}, aggregated per arm configuration, most outputs first.
     */
    public Mono<List<ArmAggregate>> summary(Instant from, Instant to, String intervention) {
        return TeamScope.current().flatMap(scope -> summary(from, to, intervention, scope));
    }

    private Mono<List<ArmAggregate>> summary(Instant from, Instant to, String intervention, TeamScope scope) {
        StringBuilder where = new StringBuilder("g.status = 'completed' AND ").append(scope.where("g.team"));
        if (from != null) {
            where.append(" AND g.created_at >= :from");
        }
        if (to != null) {
            where.append(" AND g.created_at < :to");
        }
        if (intervention != null) {
            where.append(" AND :intervention = ANY(g.interventions)");
        }
        var spec = scope.bind(db.sql("""
                SELECT o.intervention, o.params::text AS params, count(*) AS outputs,
                       avg((o.scores ->> 'visual_attention_ratio')::float8) AS var,
                       avg(coalesce(cardinality(o.tokens), 0)) AS mean_tokens,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY o.latency_ms) AS p50,
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY o.latency_ms) AS p95,
                       coalesce(sum(fb.preferences), 0) AS preferences, coalesce(sum(fb.wins), 0) AS wins,
                       coalesce(sum(h.judgements), 0) AS judgements, coalesce(sum(h.hallucinated), 0) AS hallucinated
                FROM outputs o
                JOIN generations g ON g.id = o.generation_id
                CROSS JOIN LATERAL (SELECT count(f.preferred_arm) AS preferences,
                                           count(*) FILTER (WHERE f.preferred_arm = o.arm_index) AS wins
                                    FROM feedback f WHERE f.generation_id = o.generation_id) fb
                CROSS JOIN LATERAL (SELECT count(*) AS judgements, count(*) FILTER (WHERE a.hallucinated) AS hallucinated
                                    FROM feedback_arms a
                                    WHERE a.generation_id = o.generation_id AND a.arm_index = o.arm_index) h
                """ + "WHERE " + where + " " + """
                GROUP BY o.intervention, o.params::text
                ORDER BY count(*) DESC, o.intervention, o.params::text"""));
        if (from != null) {
            spec = spec.bind("from", from.atOffset(ZoneOffset.UTC));
        }
        if (to != null) {
            spec = spec.bind("to", to.atOffset(ZoneOffset.UTC));
        }
        if (intervention != null) {
            spec = spec.bind("intervention", intervention);
        }
        return spec.map(FeedbackStore::aggregate).all().collect(ArrayList::new, List::add);
    }

    private static ArmAggregate aggregate(Readable row) {
        return new ArmAggregate(row.get("intervention", String.class), row.get("params", String.class),
                row.get("outputs", Long.class), row.get("var", Double.class),
                row.get("mean_tokens", BigDecimal.class).doubleValue(), row.get("p50", Double.class),
                row.get("p95", Double.class), number(row, "preferences"), number(row, "wins"),
                number(row, "judgements"), number(row, "hallucinated"));
    }

    // sum(bigint) is numeric in PostgreSQL
    private static long number(Readable row, String column) {
        return row.get(column, BigDecimal.class).longValue();
    }
}
