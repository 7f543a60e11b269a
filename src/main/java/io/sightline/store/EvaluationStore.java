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
 * Evaluations as a queue of item rows (schema: db/migration/V2__evaluations.sql, V7 for failed items). Workers claim
 * items with {@code FOR UPDATE SKIP LOCKED} and a lease; a lease that runs out makes the item claimable again. An
 * item's results and its {@code done} mark are written in one transaction by whichever worker marks it done first,
 * so an item run twice (lost lease, two instances) still has exactly one result per arm. A failed run hands its
 * items back with the error; an item that has failed {@code maxAttempts} times is {@code failed} for good.
 * <p>
 * Evaluations belong to the team that created them (db/migration/V6__evaluation_teams.sql). The API reaches one only
 * through {@link #findVisible} and {@link #list}, which read within the caller's {@link TeamScope}, and then reads
 * its items and results by that id. The worker runs outside any request, over every team's evaluations: the methods
 * it calls ({@link #claim}, {@link #find}, {@link #complete}, ...) need no scope.
 */
public final class EvaluationStore {

    private static final String OPEN = "status IN ('queued', 'running')";
    private static final String OPEN_ITEM = "status IN ('pending', 'leased')";
    // an expired lease at the attempt limit is failed by failExpired, never claimed again
    private static final String CLAIMABLE = "(status = 'pending'"
            + " OR (status = 'leased' AND lease_expires_at < now() AND attempts < :maxAttempts))";
    private static final String SELECT_EVALUATION = """
            SELECT e.id, e.status, e.reason, e.set_name, e.kind, e.request, e.synonyms, e.total_items, e.created_at,
                   e.started_at, e.finished_at, p.done, p.failed, p.last_item_at
            FROM evaluations e
            CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE i.status = 'done') AS done,
                                       count(*) FILTER (WHERE i.status = 'failed') AS failed,
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
     * Leases claimable items of the oldest open evaluation that has any, in item order, and marks that evaluation
     * running: up to {@code limit} items that never ran, or else one item that ran before (a failed run or a lease
     * that ran out), alone, so that an item that fails every batch it is in cannot sink the others. Empty when no
     * open evaluation has a claimable item.
     *
     * @param maxAttempts an expired lease of an item with this many attempts is not claimed (see {@link #failExpired})
     */
    public Mono<List<ClaimedItem>> claim(String owner, int limit, Duration lease, int maxAttempts) {
        Mono<UUID> next = db.sql("SELECT e.id FROM evaluations e WHERE e." + OPEN
                        + " AND EXISTS (SELECT 1 FROM evaluation_items WHERE evaluation_id = e.id AND " + CLAIMABLE + ")"
                        + " ORDER BY e.created_at, e.id LIMIT 1")
                .bind("maxAttempts", maxAttempts)
                .map(row -> row.get("id", UUID.class))
                .one();
        return next.flatMap(id -> db.sql("""
                                UPDATE evaluations SET status = 'running', started_at = coalesce(started_at, now())
                                WHERE id = :id AND status = 'queued'""")
                        .bind("id", id).then()
                        .then(lease(id, owner, "attempts = 0", limit, lease, maxAttempts))
                        .flatMap(fresh -> fresh.isEmpty() ? lease(id, owner, "attempts > 0", 1, lease, maxAttempts)
                                : Mono.just(fresh)))
                .defaultIfEmpty(List.of());
    }

    private Mono<List<ClaimedItem>> lease(UUID id, String owner, String which, int limit, Duration lease,
                                          int maxAttempts) {
        return db.sql("""
                        UPDATE evaluation_items i
                        SET status = 'leased', lease_owner = :owner, attempts = i.attempts + 1,
                            lease_expires_at = now() + make_interval(secs => :leaseSeconds)
                        FROM (SELECT evaluation_id, item_index FROM evaluation_items
                              WHERE evaluation_id = :id AND\s""" + CLAIMABLE + " AND " + which + """
                               ORDER BY item_index LIMIT :limit
                              FOR UPDATE SKIP LOCKED) c
                        WHERE i.evaluation_id = c.evaluation_id AND i.item_index = c.item_index
                        RETURNING i.evaluation_id, i.item_index, i.payload, i.image_sha256, i.attempts""")
                .bind("id", id)
                .bind("owner", owner)
                .bind("leaseSeconds", lease.toMillis() / 1000.0)
                .bind("limit", limit)
                .bind("maxAttempts", maxAttempts)
                .map(row -> new ClaimedItem(row.get("evaluation_id", UUID.class),
                        row.get("item_index", Integer.class), Columns.json(row, "payload"),
                        row.get("image_sha256", String.class), row.get("attempts", Integer.class)))
                .all()
                .sort((a, b) -> Integer.compare(a.index(), b.index()))
                .collectList();
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

    /**
     * Hands every item {@code owner} still holds back unrun, claimable at once, and takes its claim off the
     * attempts (a worker stopping, or a cancelled evaluation): stopping is not the item's fault.
     */
    public Mono<Long> release(String owner) {
        return db.sql("""
                        UPDATE evaluation_items
                        SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, attempts = attempts - 1
                        WHERE lease_owner = :owner AND status = 'leased'""")
                .bind("owner", owner)
                .fetch().rowsUpdated();
    }

    /**
     * Records a failed run of items {@code owner} still holds: each is handed back with the error, or, at
     * {@code maxAttempts}, failed for good.
     *
     * @return how many items were failed for good
     */
    public Mono<Long> failAttempt(UUID evaluationId, List<Integer> itemIndexes, String owner, String error,
                                  int maxAttempts) {
        return db.sql("""
                        UPDATE evaluation_items
                        SET status = CASE WHEN attempts >= :maxAttempts THEN 'failed' ELSE 'pending' END,
                            finished_at = CASE WHEN attempts >= :maxAttempts THEN now() END,
                            lease_owner = CASE WHEN attempts >= :maxAttempts THEN lease_owner END,
                            lease_expires_at = NULL, error = :error
                        WHERE evaluation_id = :id AND item_index = ANY(:items) AND lease_owner = :owner
                          AND status = 'leased'
                        RETURNING status""")
                .bind("id", evaluationId)
                .bind("items", itemIndexes.toArray(Integer[]::new))
                .bind("owner", owner)
                .bind("error", error)
                .bind("maxAttempts", maxAttempts)
                .map(row -> row.get("status", String.class))
                .all()
                .filter("failed"::equals)
                .count();
    }

    /**
     * Fails for good the items of running evaluations whose lease ran out on their last attempt: a worker that
     * crashes (or stalls) on an item every time must not bring down instance after instance forever.
     *
     * @return the evaluations that had such items, each once
     */
    public Mono<List<UUID>> failExpired(int maxAttempts) {
        return db.sql("""
                        UPDATE evaluation_items i
                        SET status = 'failed', finished_at = now(), lease_expires_at = NULL,
                            error = 'the lease of ' || i.lease_owner || ' ran out on attempt ' || i.attempts
                                    || ' (its instance crashed, stalled or lost the database)'
                                    || coalesce('; before: ' || i.error, '')
                        FROM evaluations e
                        WHERE e.id = i.evaluation_id AND e.status = 'running' AND i.status = 'leased'
                          AND i.lease_expires_at < now() AND i.attempts >= :maxAttempts
                        RETURNING i.evaluation_id""")
                .bind("maxAttempts", maxAttempts)
                .map(row -> row.get("evaluation_id", UUID.class))
                .all()
                .distinct()
                .collectList();
    }

    /**
     * Marks the item done and stores its results, in one transaction, if the evaluation is still running and no
     * other worker ended the item first. The evaluation's row is locked (FOR SHARE) until the results are
     * committed, so a cancel waits for them, and once an evaluation has ended no result is ever added to it.
     *
     * @return false when nothing was written (ended elsewhere, or the evaluation was cancelled or failed)
     */
    public Mono<Boolean> complete(UUID evaluationId, int itemIndex, String worker,
                                  List<EvaluationResultRecord> results) {
        Mono<Boolean> work = db.sql("""
                        UPDATE evaluation_items
                        SET status = 'done', lease_owner = :worker, lease_expires_at = NULL, finished_at = now(),
                            error = NULL
                        WHERE evaluation_id = :id AND item_index = :item AND\s""" + OPEN_ITEM + """
                          AND EXISTS (SELECT 1 FROM evaluations WHERE id = :id AND status = 'running' FOR SHARE)""")
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

    /**
     * Ends a running evaluation none of whose items is open: {@code completed} when every item is done, else
     * {@code failed} saying how many items failed and the first one's error.
     *
     * @param maxAttempts the attempt limit, for the reason's wording
     * @return the status this call ended it with; empty when it did not end it
     */
    public Mono<String> finishIfDrained(UUID id, int maxAttempts) {
        return db.sql("""
                        UPDATE evaluations e
                        SET status = CASE WHEN s.failed = 0 THEN 'completed' ELSE 'failed' END,
                            reason = CASE WHEN s.failed = 0 THEN NULL
                                          ELSE s.failed || ' of ' || e.total_items || ' items failed after '
                                               || :maxAttempts || ' attempts; first: ' || s.first_error END,
                            finished_at = now()
                        FROM (SELECT count(*) FILTER (WHERE status = 'failed') AS failed,
                                     count(*) FILTER (WHERE\s""" + OPEN_ITEM + """
                        ) AS open,
                                     (SELECT 'item ' || item_index || ': ' || error FROM evaluation_items
                                      WHERE evaluation_id = :id AND status = 'failed'
                                      ORDER BY item_index LIMIT 1) AS first_error
                              FROM evaluation_items WHERE evaluation_id = :id) s
                        WHERE e.id = :id AND e.status = 'running' AND s.open = 0
                        RETURNING e.status""")
                .bind("id", id)
                .bind("maxAttempts", maxAttempts)
                .map(row -> row.get("status", String.class))
                .one();
    }

    /** Ends an open evaluation as cancelled; false when it had already ended. */
    public Mono<Boolean> cancel(UUID id) {
        return db.sql("UPDATE evaluations SET status = 'cancelled', reason = 'cancelled by request', finished_at = now()"
                        + " WHERE id = :id AND " + OPEN)
                .bind("id", id)
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
                        SELECT item_index, payload, image_sha256, status, lease_owner, attempts, error
                        FROM evaluation_items
                        WHERE evaluation_id = :id ORDER BY item_index LIMIT :limit OFFSET :offset""")
                .bind("id", id)
                .bind("limit", size)
                .bind("offset", (long) page * size)
                .map(row -> new EvaluationItemRecord(row.get("item_index", Integer.class), Columns.json(row, "payload"),
                        row.get("image_sha256", String.class), row.get("status", String.class),
                        row.get("lease_owner", String.class), row.get("attempts", Integer.class),
                        row.get("error", String.class), List.of()))
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

    /** Items not yet ended in open evaluations, over all of them (a progress gauge). */
    public Mono<Long> openItems() {
        return db.sql("SELECT count(*) AS n FROM evaluation_items i JOIN evaluations e ON e.id = i.evaluation_id"
                        + " WHERE e." + OPEN + " AND i." + OPEN_ITEM)
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
                row.get("done", Long.class).intValue(), row.get("failed", Long.class).intValue(),
                Columns.instant(row, "created_at"), Columns.instant(row, "started_at"), Columns.instant(row, "finished_at"),
                Columns.instant(row, "last_item_at"));
    }
}
