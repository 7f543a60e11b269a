package io.sightline.store;

import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Readable;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
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
 * Generations and their outputs in PostgreSQL over R2DBC (schema: db/migration). Generations are written with the
 * accepting instance (see {@link InstanceStore}) and the caller's team, and read only within the caller's
 * {@link TeamScope}.
 * A generation moves {@code running -> completed | failed} exactly once: both transitions only touch a row that
 * is still running, so a late engine result cannot overwrite a cancellation, nor the other way round.
 */
public final class GenerationStore {

    private static final String SELECT_GENERATION = """
            SELECT g.id, g.status, g.reason, g.prompt, g.request, g.image_sha256, g.created_at, g.started_at,
                   g.finished_at, g.latency_ms, i.media_type, i.width, i.height
            FROM generations g JOIN images i ON i.sha256 = g.image_sha256
            """;

    private final DatabaseClient db;
    private final TransactionalOperator tx;
    private final UUID instanceId;

    public GenerationStore(DatabaseClient db, TransactionalOperator tx, UUID instanceId) {
        this.db = db;
        this.tx = tx;
        this.instanceId = instanceId;
    }

    /** Writes the generation with status {@code running}, for the caller's team; returns its creation time. */
    public Mono<Instant> insertRunning(NewGeneration g) {
        return TeamScope.current().flatMap(scope -> {
            var spec = db.sql("""
                            INSERT INTO generations (id, status, prompt, request, interventions, image_sha256, team,
                                                     instance_id)
                            VALUES (:id, 'running', :prompt, CAST(:request AS json), :interventions, :imageSha256, :team,
                                    :instanceId)
                            RETURNING created_at""")
                    .bind("id", g.id())
                    .bind("prompt", g.prompt())
                    // as text: a Json parameter travels as jsonb, which would reorder the keys before the json column
                    .bind("request", g.requestJson())
                    .bind("interventions", g.interventions().toArray(String[]::new))
                    .bind("imageSha256", g.imageSha256())
                    .bind("instanceId", instanceId);
            return scope.bindOwner(spec).map(row -> Columns.instant(row, "created_at")).one();
        });
    }

    /**
     * Stores every arm's output and marks the generation completed, in one transaction.
     *
     * @param latencyMs wall-clock milliseconds of the engine call (measured on a monotonic clock)
     * @return false when the generation was no longer running (cancelled meanwhile); nothing is written then
     */
    public Mono<Boolean> complete(UUID id, Instant startedAt, Instant finishedAt, double latencyMs,
                                  List<OutputRecord> outputs) {
        Mono<Boolean> work = db.sql("""
                        UPDATE generations
                        SET status = 'completed', started_at = :startedAt, finished_at = :finishedAt,
                            latency_ms = :latencyMs
                        WHERE id = :id AND status = 'running'""")
                .bind("id", id)
                .bind("startedAt", startedAt.atOffset(ZoneOffset.UTC))
                .bind("finishedAt", finishedAt.atOffset(ZoneOffset.UTC))
                .bind("latencyMs", latencyMs)
                .fetch().rowsUpdated()
                .flatMap(updated -> updated == 0
                        ? Mono.just(false)
                        : Flux.fromIterable(outputs).concatMap(o -> insertOutput(id, o)).then(Mono.just(true)));
        return tx.transactional(work);
    }

    /**
     * Marks a running generation failed.
     *
     * @param startedAt when inference began, or null if it never did
     */
    public Mono<Boolean> fail(UUID id, String reason, Instant startedAt) {
        var spec = db.sql("""
                        UPDATE generations
                        SET status = 'failed', reason = :reason, started_at = :startedAt, finished_at = now()
                        WHERE id = :id AND status = 'running'""")
                .bind("id", id)
                .bind("reason", reason);
        spec = startedAt == null
                ? spec.bindNull("startedAt", OffsetDateTime.class)
                : spec.bind("startedAt", startedAt.atOffset(ZoneOffset.UTC));
        return spec.fetch().rowsUpdated().map(n -> n > 0);
    }

    /** The generation, or empty when it does not exist or belongs to another team. */
    public Mono<StoredGeneration> find(UUID id) {
        return TeamScope.current().flatMap(scope -> scope.bind(db.sql(SELECT_GENERATION + " WHERE g.id = :id AND "
                                + scope.where("g.team"))
                        .bind("id", id))
                .map(GenerationStore::generation)
                .one())
                .flatMap(g -> outputs(List.of(id)).map(byId -> g.withOutputs(byId.getOrDefault(id, List.of()))));
    }

    /**
     * The caller's team's generations, newest first.
     *
     * @param intervention only generations with an arm of this intervention; null for all
     */
    public Mono<GenerationPage> list(int page, int size, String intervention) {
        return TeamScope.current().flatMap(scope -> list(page, size, intervention, scope));
    }

    private Mono<GenerationPage> list(int page, int size, String intervention, TeamScope scope) {
        String where = " WHERE " + scope.where("g.team")
                + (intervention == null ? "" : " AND :intervention = ANY(g.interventions)");
        var select = scope.bind(db.sql(SELECT_GENERATION + where
                        + " ORDER BY g.created_at DESC, g.id DESC LIMIT :limit OFFSET :offset"))
                .bind("limit", size)
                .bind("offset", (long) page * size);
        var count = scope.bind(db.sql("SELECT count(*) AS total FROM generations g" + where));
        if (intervention != null) {
            select = select.bind("intervention", intervention);
            count = count.bind("intervention", intervention);
        }
        Mono<List<StoredGeneration>> items = select.map(GenerationStore::generation).all().collectList()
                .flatMap(gs -> outputs(gs.stream().map(StoredGeneration::id).toList())
                        .map(byId -> gs.stream().map(g -> g.withOutputs(byId.getOrDefault(g.id(), List.of()))).toList()));
        Mono<Long> total = count.map(row -> row.get("total", Long.class)).one();
        return Mono.zip(items, total).map(t -> new GenerationPage(t.getT1(), page, size, t.getT2()));
    }

    private Mono<Void> insertOutput(UUID id, OutputRecord o) {
        Integer[] tokens = new Integer[o.tokens().length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = o.tokens()[i];
        }
        return db.sql("""
                        INSERT INTO outputs (generation_id, arm_index, intervention, params, text, tokens, logprobs,
                                             latency_ms, tokens_per_second, scores)
                        VALUES (:id, :armIndex, :intervention, :params, :text, :tokens, :logprobs, :latencyMs,
                                :tokensPerSecond, :scores)""")
                .bind("id", id)
                .bind("armIndex", o.armIndex())
                .bind("intervention", o.intervention())
                .bind("params", Json.of(o.paramsJson()))
                .bind("text", o.text())
                .bind("tokens", tokens)
                .bind("logprobs", Json.of(o.logprobsJson()))
                .bind("latencyMs", o.latencyMs())
                .bind("tokensPerSecond", o.tokensPerSecond())
                .bind("scores", Json.of(o.scoresJson()))
                .then();
    }

    private Mono<Map<UUID, List<OutputRecord>>> outputs(List<UUID> ids) {
        if (ids.isEmpty()) {
            return Mono.just(Map.of());
        }
        return db.sql("""
                        SELECT generation_id, arm_index, intervention, params, text, tokens, logprobs, latency_ms,
                               tokens_per_second, scores
                        FROM outputs WHERE generation_id = ANY(:ids) ORDER BY generation_id, arm_index""")
                .bind("ids", ids.toArray(UUID[]::new))
                .map(row -> Map.entry(row.get("generation_id", UUID.class), output(row)))
                .all()
                .collect(LinkedHashMap::new, (m, e) -> m.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
    }

    private static OutputRecord output(Readable row) {
        Integer[] boxed = row.get("tokens", Integer[].class);
        int[] tokens = new int[boxed.length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = boxed[i];
        }
        return new OutputRecord(row.get("arm_index", Integer.class), row.get("intervention", String.class),
                Columns.json(row, "params"), row.get("text", String.class), tokens, Columns.json(row, "logprobs"),
                row.get("latency_ms", Double.class), row.get("tokens_per_second", Double.class), Columns.json(row, "scores"));
    }

    private static StoredGeneration generation(Readable row) {
        return new StoredGeneration(row.get("id", UUID.class), row.get("status", String.class),
                row.get("reason", String.class), row.get("prompt", String.class), Columns.json(row, "request"),
                row.get("image_sha256", String.class), row.get("media_type", String.class),
                row.get("width", Integer.class), row.get("height", Integer.class), Columns.instant(row, "created_at"),
                Columns.instant(row, "started_at"), Columns.instant(row, "finished_at"), row.get("latency_ms", Double.class),
                List.of());
    }
}
