package io.sightline.api;

import io.sightline.eval.BenchmarkCatalog;
import io.sightline.eval.BenchmarkKind;
import io.sightline.scoring.Bootstrap;
import io.sightline.eval.EvaluationReport;
import io.sightline.store.EvaluationResultRecord;
import io.sightline.store.EvaluationStore;
import io.sightline.store.StoredEvaluation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Evaluations end to end on the API side: admit a request for a shipped or an uploaded set
 * ({@link EvaluationAdmission}; nothing stored on refusal), store the evaluation with all its items and images as one
 * transaction for the workers to claim, and read the caller's team's evaluations back with their progress and a
 * report computed from the stored answers (another team's id is a 404 like an unknown one).
 */
public final class EvaluationService {

    private final EvaluationAdmission admission;
    private final EvaluationStore store;
    private final JsonMapper json;
    private final EndedReports reports = new EndedReports();

    public EvaluationService(EvaluationAdmission admission, EvaluationStore store, JsonMapper json) {
        this.admission = admission;
        this.store = store;
        this.json = json;
    }

    /** Starts an evaluation of a shipped set (the JSON body). */
    public Mono<EvaluationView> create(EvaluationBody body) {
        return create(() -> admission.admit(body));
    }

    /** Starts an evaluation of an uploaded set (the multipart body); {@code body} is its parsed request part. */
    Mono<EvaluationView> create(EvaluationBody body, UploadParts parts) {
        return create(() -> admission.admit(body, parts));
    }

    private Mono<EvaluationView> create(Callable<EvaluationAdmission.Admitted> admitted) {
        // reading and checking the set's images is file and CPU work: off the event loop
        return Mono.fromCallable(admitted)
                .subscribeOn(Schedulers.boundedElastic())
                .flatMap(a -> store.create(a.evaluation(), a.images()).then(find(a.evaluation().id())));
    }

    /** The evaluation with its report over the items done so far. */
    public Mono<EvaluationView> find(UUID id) {
        return store.findVisible(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no evaluation with id " + id)))
                .flatMap(e -> report(e).map(report -> EvaluationView.of(e, report, json)));
    }

    /** The report; once the evaluation has ended it can no longer change and comes from {@link EndedReports}. */
    private Mono<EvaluationReport> report(StoredEvaluation e) {
        boolean ended = !EvaluationView.isOpen(e);
        EvaluationReport cached = ended ? reports.get(e.id()) : null;
        if (cached != null) {
            return Mono.just(cached);
        }
        return Mono.zip(store.payloads(e.id()), store.results(e.id(), 0, Integer.MAX_VALUE))
                .publishOn(Schedulers.boundedElastic())
                .map(t -> {
                    EvaluationReport report = report(e, t.getT1(), t.getT2());
                    if (ended) {
                        reports.put(e.id(), report);
                    }
                    return report;
                });
    }

    public Mono<EvaluationPageView> list(int page, int size) {
        return store.list(page, size).map(p -> new EvaluationPageView(
                p.items().stream().map(e -> EvaluationView.of(e, null, json)).toList(), p.page(), p.size(), p.total()));
    }

    public Mono<EvaluationItemView.Page> items(UUID id, int page, int size) {
        return store.findVisible(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no evaluation with id " + id)))
                .flatMap(e -> store.items(id, page, size))
                .map(p -> new EvaluationItemView.Page(p.items().stream().map(i -> EvaluationItemView.of(i, json)).toList(),
                        p.page(), p.size(), p.total()));
    }

    /** Every item's rows, one per item and arm (one without an arm for a failed item), as CSV (RFC 4180). */
    public Mono<String> csv(UUID id) {
        return store.findVisible(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no evaluation with id " + id)))
                .flatMap(e -> store.items(id, 0, e.totalItems()))
                .map(p -> {
                    StringBuilder out = new StringBuilder("item_index,question_id,status,arm,intervention,answer,"
                            + "leading_answer,correct,tokens,latency_ms,tokens_per_second,scores,error\r\n");
                    p.items().forEach(i -> {
                        String questionId = json.readTree(i.payloadJson()).path("question_id").asString("");
                        for (EvaluationResultRecord r : i.results()) {
                            JsonNode scores = json.readTree(r.scoresJson());
                            out.append(csvRow(i.index(), questionId, i.status(), r.armIndex(),
                                    r.intervention(), r.answer(), r.leadingAnswer(),
                                    scores.has("correct") ? scores.get("correct").asString() : "", r.tokens(),
                                    r.latencyMs(), r.tokensPerSecond(), r.scoresJson(), null));
                        }
                        if (i.status().equals("failed")) {
                            out.append(csvRow(i.index(), questionId, i.status(), null, null, null, null, null, null,
                                    null, null, null, i.error()));
                        }
                    });
                    return out.toString();
                });
    }

    /** Cancels an open evaluation; cancelling a cancelled one again is a no-op, an ended one is a conflict. */
    public Mono<EvaluationView> cancel(UUID id) {
        return store.findVisible(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no evaluation with id " + id)))
                .flatMap(e -> store.cancel(id).flatMap(cancelled -> cancelled || e.status().equals("cancelled")
                        ? find(id)
                        : Mono.error(new InvalidStateException("evaluation " + id + " has already ended as " + e.status()))));
    }

    private EvaluationReport report(StoredEvaluation e, Map<Integer, String> payloads,
                                    Map<Integer, List<EvaluationResultRecord>> results) {
        BenchmarkKind kind = BenchmarkKind.ofCode(e.kind());
        Map<Integer, Record> items = new LinkedHashMap<>();
        payloads.forEach((index, payload) -> items.put(index, kind.item(json.readTree(payload))));
        List<String> interventions = new ArrayList<>();
        json.readTree(e.requestJson()).get("arms").forEach(a -> interventions.add(a.get("intervention").asString()));
        List<EvaluationReport.ArmAnswer> answers = new ArrayList<>();
        results.values().forEach(rows -> rows.forEach(r -> {
            JsonNode scores = json.readTree(r.scoresJson());
            answers.add(new EvaluationReport.ArmAnswer(r.itemIndex(), r.armIndex(),
                    r.leadingAnswer() == null ? List.of(r.answer()) : List.of(r.answer(), r.leadingAnswer()),
                    r.tokens(), r.latencyMs(), r.tokensPerSecond(),
                    scores.has("visual_attention_ratio") ? scores.get("visual_attention_ratio").asDouble() : null));
        }));
        return EvaluationReport.of(kind, BenchmarkCatalog.storedSynonyms(e.synonymsJson()), items, interventions,
                answers, Bootstrap.standard());
    }

    private static String csvRow(Object... cells) {
        StringBuilder row = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            String cell = cells[i] == null ? "" : cells[i].toString();
            if (cell.contains(",") || cell.contains("\"") || cell.contains("\n") || cell.contains("\r")) {
                cell = "\"" + cell.replace("\"", "\"\"") + "\"";
            }
            row.append(i == 0 ? "" : ",").append(cell);
        }
        return row.append("\r\n").toString();
    }
}
