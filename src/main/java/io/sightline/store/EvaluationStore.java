package io.sightline.store;

import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Readable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Evaluations as a queue of item rows (schema: db/migration/V2__evaluations.sql). Workers claim items with
 * {@code FOR UPDATE SKIP LOCKED} and a lease; a lease that runs out makes the item claimable again. An item's
 * results and its {@code done} mark are written in one transaction by whichever worker marks it done first, so an
 * item run twice (lost lease, two instances) still has exactly one result per arm.
 * <p>
 * Evaluations belong to the team that created them (db/migration/V6__evaluation_teams.sql). The API reaches one only
 * through {@link #findVisible} and {@link #list}, which read within the caller's {@link TeamScope}, and then reads
 * its items and results by that id. The worker runs outside any request, over every team's evaluations: the methods
 * it calls ({@link #claim}, {@link #find}, {@link #complete}, ...) need no scope.
 */
public final class EvaluationStore {

    private static final String OPEN = "status IN ('queued', 'running')";
    private static final String CLAIMABLE = "(status = 'pending' OR (status = 'leased' AND lease_expires_at < now()))";
    private static final String SELECT_EVALUATION = """
            SELECT e.id, e.status, e.reason, e.set_name, e.kind, e.request, e.synonyms, e.total_items, e.created_at,
                   e.started_at, e.finished_at, p.done, p.last_item_at
            FROM evaluations e
            CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE i.status = 'done') AS done,
                                       max(i.finished_at) AS last_item_at
                                FROM evaluation_items i WHERE i.evaluation_id = e.id) p
            """;

    private final DatabaseClient db;
    private final TransactionalOperator tx;
    private final ImageStore images;

    public EvaluationStore(DatabaseClient db, TransactionalOperator tx, ImageStore images) {
        this.db = db;
        this.tx = tx;
        this.images = images;
    }

    /**
     * Stores the images, the evaluation ({@code queued}, for the caller's team) and all its items ({@code pending}) in
     * one transaction.
     */
    public Mono<Void> create(NewEvaluation e, List<ImageRecord> itemImages) {
        return TeamScope.current().flatMap(scope -> create(e, itemImages, scope));
    }

    private Mono<Void> create(NewEvaluation e, List<ImageRecord> itemImages, TeamScope scope) {
        var insert = scope.bindOwner(db.sql("""
                        INSERT INTO evaluations (id, status, set_name, kind, request, synonyms, total_items, team)
                        VALUES (:id, 'queued', :setName, :kind, CAST(:request AS json), CAST(:synonyms AS json), :total,
                                :team)"""))
                .bind("id", e.id())
                .bind("setName", e.setName())
                .bind("kind", e.kind())
                // as text: a Json parameter travels as jsonb, which would reorder the keys before the json column
                .bind("request", e.requestJson())
                .bind("total", e.items().size());
        insert = e.synonymsJson() == null ? insert.bindNull("synonyms", String.class) : insert.bind("synonyms", e.synonymsJson());
        Mono<Void> work = Flux.fromIterable(itemImages).concatMap(images::save).then(insert.then())
                .then(db.sql("""
                        INSERT INTO evaluation_items (evaluation_id, item_index, payload, image_sha256)
                        SELECT :id, t.i, CAST(t.p AS json), t.s
                        FROM unnest(CAST(:indexes AS integer[]), CAST(:payloads AS text[]), CAST(:shas AS text[]))
                             AS t(i, p, s)""")
                        .bind("id", e.id())
                        .bind("indexes", e.items().stream().map(NewEvaluation.Item::index).toArray(Integer[]::new))
                        .bind("payloads", e.items().stream().map(NewEvaluation.Item::payloadJson).toArray(String[]::new))
                        .bind("shas", e.items().stream().map(NewEvaluation.Item::imageSha256).toArray(String[]::new))
                        .then());
        return tx.transactional(work);
    }

    /**
     * Leases up to {@code limit} claimable items of the oldest open evaluation that has any, in item order, and
     * marks that evaluation running. Empty when no open evaluation has a claimable item.
     */
    public Mono<List<ClaimedItem>> claim(String owner, int limit, Duration lease) {
        Mono<UUID> next = db.sql("SELECT e.id FROM evaluations e WHERE e." + OPEN
                        + " AND EXISTS (SELECT 1 FROM evaluation_items WHERE evaluation_id = e.id AND " + CLAIMABLE + ")"
                        + " ORDER BY e.created_at, e.id LIMIT 1")
                .map(row -> row.get("id", UUID.class))
                .one();
        return next.flatMap(id -> db.sql("""
                                UPDATE evaluations SET status = 'running', started_at = coalesce(started_at, now())
                                WHERE id = :id AND status = 'queued'""")
                        .bind("id", id).then()
                        .then(db.sql("""
                                        UPDATE evaluation_items i
                                        SET status = 'leased', lease_owner = :owner, attempts = i.attempts + 1,
                                            lease_expires_at = now() + make_interval(secs => :leaseSeconds)
                                        FROM (SELECT evaluation_id, item_index FROM evaluation_items
                                              WHERE evaluation_id = :id AND\s""" + CLAIMABLE + """
                                               ORDER BY item_index LIMIT :limit
                                              FOR UPDATE SKIP LOCKED) c
                                        WHERE i.evaluation_id = c.evaluation_id AND i.item_index = c.item_index
                                        RETURNING i.evaluation_id, i.item_index, i.payload, i.image_sha256, i.attempts""")
                                .bind("id", id)
                                .bind("owner", owner)
                                .bind("leaseSeconds", lease.toMillis() / 1000.0)
                                .bind("limit", limit)
                                .map(row -> new ClaimedItem(row.get("evaluation_id", UUID.class),
                                        row.get("item_index", Integer.class), Columns.json(row, "payload"),
                                        row.get("image_sha256", String.class), row.get("attempts", Integer.class)))
                                .all()
                                .sort((a, b) -> Integer.compare(a.index(), b.index()))
                                .collectList()))
                .defaultIfEmpty(List.of());
    }

    /** Extends every lease {@code owner} holds; returns how many. */
    public Mono<Long> renew(String owner, Duration lease) {
        return db.sql("""
                        UPDATE evaluation_items SET lease_expires_at = now() + make_interval(secs => :leaseSeconds)
                        WHERE lease_owner = :owner AND status = 'leased'""")
                .bind("owner", owner)
                .bind("leaseSeconds", lease.toMillis() / 1000.0)
                .fetch().rowsUpdated();
    }

    /** Makes every item {@code owner} still holds claimable at once (a worker stopping cleanly). */
    public Mono<Long> release(String owner) {
        return db.sql("""
                        UPDATE evaluation_items SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
                        WHERE lease_owner = :owner AND status = 'leased'""")
                .bind("owner", owner)
                .fetch().rowsUpdated();
    }

    /**
     * Marks the item done and stores its results, in one transaction, if the evaluation is still running and no
     * other worker marked the item done first.
     *
     * @return false when nothing was written (done elsewhere, or the evaluation was cancelled or failed)
     */
    public Mono<Boolean> complete(UUID evaluationId, int itemIndex, String worker,
                                  List<EvaluationResultRecord> results) {
        Mono<Boolean> work = db.sql("""
                        UPDATE evaluation_items
                        SET status = 'done', lease_owner = :worker, lease_expires_at = NULL, finished_at = now()
                        WHERE evaluation_id = :id AND item_index = :item AND status <> 'done'
                          AND EXISTS (SELECT 1 FROM evaluations WHERE id = :id AND status = 'running')""")
                .bind("id", evaluationId)
                .bind("item", itemIndex)
                .bind("worker", worker)
                .fetch().rowsUpdated()
                .flatMap(updated -> updated == 0
                        ? Mono.just(false)
                        : Flux.fromIterable(results).concatMap(r -> insertResult(evaluationId, r)).then(Mono.just(true)));
        return tx.transactional(work);
    }

    private Mono<Void> insertResult(UUID evaluationId, EvaluationResultRecord r) {
        var spec = db.sql("""
                        INSERT INTO evaluation_results (evaluation_id, item_index, arm_index, intervention, answer,
                                                        leading_answer, tokens, latency_ms, tokens_per_second, scores,
                                                        worker)
                        VALUES (:id, :item, :arm, :intervention, :answer, :leading, :tokens, :latencyMs,
                                :tokensPerSecond, :scores, :worker)
                        ON CONFLICT DO NOTHING""")
                .bind("id", evaluationId)
                .bind("item", r.itemIndex())
                .bind("arm", r.armIndex())
                .bind("intervention", r.intervention())
                .bind("answer", r.answer())
                .bind("tokens", r.tokens())
                .bind("latencyMs", r.latencyMs())
                .bind("tokensPerSecond", r.tokensPerSecond())
                .bind("scores", Json.of(r.scoresJson()))
                .bind("worker", r.worker());
        spec = r.leadingAnswer() == null ? spec.bindNull("leading", String.class) : spec.bind("leading", r.leadingAnswer());
        return spec.then();
    }

    /** Completes a running evaluation none of whose items is left; true when this call completed it. */
    public Mono<Boolean> finishIfDrained(UUID id) {
        return db.sql("""
                        UPDATE evaluations SET status = 'completed', finished_at = now()
                        WHERE id = :id AND status = 'running'
                          AND NOT EXISTS (SELECT 1 FROM evaluation_items WHERE evaluation_id = :id AND status <> 'done')""")
                .bind("id", id)
                .fetch().rowsUpdated().map(n -> n > 0);
    }

    /** Ends an open evaluation as failed; false when it had already ended. */
    public Mono<Boolean> fail(UUID id, String reason) {
        return end(id, "failed", reason);
    }

    /** Ends an open evaluation as cancelled; false when it had already ended. */
    public Mono<Boolean> cancel(UUID id) {
        return end(id, "cancelled", "cancelled by request");
    }

    private Mono<Boolean> end(UUID id, String status, String reason) {
        return db.sql("UPDATE evaluations SET status = :status, reason = :reason, finished_at = now()"
                        + " WHERE id = :id AND " + OPEN)
                .bind("id", id)
                .bind("status", status)
                .bind("reason", reason)
                .fetch().rowsUpdated().map(n -> n > 0);
    }

    /** The evaluation, whichever team's: the worker's read, outside any request. */
    public Mono<StoredEvaluation> find(UUID id) {
        return db.sql(SELECT_EVALUATION + " WHERE e.id = :id").bind("id", id).map(EvaluationStore::evaluation).one();
    }

    /** The evaluation, or empty when it does not exist or belongs to another team than the caller's. */
    public Mono<StoredEvaluation> findVisible(UUID id) {
        return TeamScope.current().flatMap(scope -> scope.bind(db.sql(SELECT_EVALUATION + " WHERE e.id = :id AND "
                                + scope.where("e.team"))
                        .bind("id", id))
                .map(EvaluationStore::evaluation)
                .one());
    }

    /** The caller's team's evaluations, newest first. */
    public Mono<EvaluationPage> list(int page, int size) {
        return TeamScope.current().flatMap(scope -> list(page, size, scope));
    }

    private Mono<EvaluationPage> list(int page, int size, TeamScope scope) {
        String where = " WHERE " + scope.where("e.team");
        Mono<List<StoredEvaluation>> items = scope.bind(db.sql(SELECT_EVALUATION + where
                        + " ORDER BY e.created_at DESC, e.id DESC LIMIT :limit OFFSET :offset"))
                .bind("limit", size)
                .bind("offset", (long) page * size)
                .map(EvaluationStore::evaluation).all().collectList();
        Mono<Long> total = scope.bind(db.sql("SELECT count(*) AS total FROM evaluations e" + where))
                .map(row -> row.get("total", Long.class)).one();
        return Mono.zip(items, total).map(t -> new EvaluationPage(t.getT1(), page, size, t.getT2()));
    }

    /** Items in item order with their results. */
    public Mono<EvaluationItemPage> items(UUID id, int page, int size) {
        Mono<List<EvaluationItemRecord>> items = db.sql("""
                        SELECT item_index, payload, image_sha256, status, lease_owner, attempts FROM evaluation_items
                        WHERE evaluation_id = :id ORDER BY item_index LIMIT :limit OFFSET :offset""")
                .bind("id", id)
                .bind("limit", size)
                .bind("offset", (long) page * size)
                .map(row -> new EvaluationItemRecord(row.get("item_index", Integer.class), Columns.json(row, "payload"),
                        row.get("image_sha256", String.class), row.get("status", String.class),
                        row.get("lease_owner", String.class), row.get("attempts", Integer.class), List.of()))
                .all().collectList()
                .flatMap(list -> list.isEmpty() ? Mono.just(list) : results(id, list.get(0).index(),
                        list.get(list.size() - 1).index())
                        .map(byItem -> list.stream().map(i -> i.withResults(byItem.getOrDefault(i.index(), List.of())))
                                .toList()));
        Mono<Long> total = db.sql("SELECT count(*) AS total FROM evaluation_items WHERE evaluation_id = :id")
                .bind("id", id).map(row -> row.get("total", Long.class)).one();
        return Mono.zip(items, total).map(t -> new EvaluationItemPage(t.getT1(), page, size, t.getT2()));
    }

    /** Every item's payload by index. */
    public Mono<Map<Integer, String>> payloads(UUID id) {
        return db.sql("SELECT item_index, payload FROM evaluation_items WHERE evaluation_id = :id ORDER BY item_index")
                .bind("id", id)
                .map(row -> Map.entry(row.get("item_index", Integer.class), Columns.json(row, "payload")))
                .all()
                .collect(LinkedHashMap::new, (m, e) -> m.put(e.getKey(), e.getValue()));
    }

    /** Results of items {@code from..to} (all of them: 0..Integer.MAX_VALUE) by item, each in arm order. */
    public Mono<Map<Integer, List<EvaluationResultRecord>>> results(UUID id, int from, int to) {
        return db.sql("""
                        SELECT item_index, arm_index, intervention, answer, leading_answer, tokens, latency_ms,
                               tokens_per_second, scores, worker
                        FROM evaluation_results WHERE evaluation_id = :id AND item_index BETWEEN :from AND :to
                        ORDER BY item_index, arm_index""")
                .bind("id", id)
                .bind("from", from)
                .bind("to", to)
                .map(EvaluationStore::result)
                .all()
                .collect(LinkedHashMap::new, (m, r) -> m.computeIfAbsent(r.itemIndex(), k -> new ArrayList<>()).add(r));
    }

    /** Items not yet done in open evaluations, over all of them (a progress gauge). */
    public Mono<Long> openItems() {
        return db.sql("SELECT count(*) AS n FROM evaluation_items i JOIN evaluations e ON e.id = i.evaluation_id"
                        + " WHERE e." + OPEN + " AND i.status <> 'done'")
                .map(row -> row.get("n", Long.class)).one();
    }

    private static EvaluationResultRecord result(Readable row) {
        return new EvaluationResultRecord(row.get("item_index", Integer.class), row.get("arm_index", Integer.class),
                row.get("intervention", String.class), row.get("answer", String.class),
                row.get("leading_answer", String.class), row.get("tokens", Integer.class),
                row.get("latency_ms", Double.class), row.get("tokens_per_second", Double.class), Columns.json(row, "scores"),
                row.get("worker", String.class));
    }

    private static StoredEvaluation evaluation(Readable row) {
        return new StoredEvaluation(row.get("id", UUID.class), row.get("status", String.class),
                row.get("reason", String.class), row.get("set_name", String.class), row.get("kind", String.class),
                Columns.json(row, "request"), Columns.json(row, "synonyms"), row.get("total_items", Integer.class),
                row.get("done", Long.class).intValue(), Columns.instant(row, "created_at"), Columns.instant(row, "started_at"),
                Columns.instant(row, "finished_at"), Columns.instant(row, "last_item_at"));
    }
}
