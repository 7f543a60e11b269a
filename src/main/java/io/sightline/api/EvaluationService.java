package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.DecodingOptions;
import io.sightline.eval.BenchmarkCatalog;
import io.sightline.eval.BenchmarkKind;
import io.sightline.scoring.Bootstrap;
import io.sightline.eval.EvaluationReport;
import io.sightline.scoring.Synonyms;
import io.sightline.store.EvaluationResultRecord;
import io.sightline.store.EvaluationStore;
import io.sightline.store.ImageRecord;
import io.sightline.store.NewEvaluation;
import io.sightline.store.StoredEvaluation;
import io.sightline.vision.ImageHeader;
import io.sightline.vision.ImagePreprocessor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Evaluations end to end on the API side: admit a request (nothing stored on refusal), store the evaluation with
 * all its items as one transaction for the workers to claim, and read the caller's team's evaluations back with
 * their progress and a report recomputed from the stored answers (another team's id is a 404 like an unknown one).
 */
public final class EvaluationService {

    private final BenchmarkCatalog catalog;
    private final DecodingAdmission decoding;
    private final ImagePreprocessor images;
    private final EvaluationStore store;
    private final JsonMapper json;

    public EvaluationService(BenchmarkCatalog catalog, DecodingAdmission decoding, ImagePreprocessor images,
                             EvaluationStore store, JsonMapper json) {
        this.catalog = catalog;
        this.decoding = decoding;
        this.images = images;
        this.store = store;
        this.json = json;
    }

    public Mono<EvaluationView> create(EvaluationBody body) {
        // reading and checking the set's images is file and CPU work: off the event loop
        return Mono.fromCallable(() -> admit(body))
                .subscribeOn(Schedulers.boundedElastic())
                .flatMap(a -> store.create(a.evaluation(), a.images()).then(find(a.evaluation().id())));
    }

    private record Admitted(NewEvaluation evaluation, List<ImageRecord> images) {
    }

    private Admitted admit(EvaluationBody body) {
        List<FieldError> errors = new ArrayList<>();
        if (body.set() == null || body.set().isBlank()) {
            errors.add(new FieldError("set", "is required: a shipped set such as shapes-v1/pope-adversarial"));
            errors.addAll(decoding.check(body, 1));
            throw new InvalidRequestException(errors);
        }
        BenchmarkCatalog.Entry set = catalog.find(body.set());
        if (set == null) {
            throw new UnknownSetException(body.set(), catalog.names());
        }
        int size = set.items().size();
        int limit = body.limit() == null ? size : body.limit();
        if (limit < 1 || limit > size) {
            errors.add(new FieldError("limit", "must be in 1.." + size + " (the set's items), was " + limit));
        }
        BenchmarkKind kind = set.kind();
        errors.addAll(decoding.check(body, kind.defaultMaxNewTokens()));
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        DecodingAdmission.Bound bound = decoding.bind(body, kind.defaultMaxNewTokens(), DecodingOptions.ArmSeeds.SHARED);

        Map<String, ImageRecord> byPath = new LinkedHashMap<>();
        List<NewEvaluation.Item> items = new ArrayList<>();
        for (int i = 0; i < limit; i++) {
            Record item = set.items().get(i);
            String path = kind.image(item);
            ImageRecord image = byPath.computeIfAbsent(path, p -> image(set.dir().resolve(p)));
            items.add(new NewEvaluation.Item(i, json.writeValueAsString(kind.payload(item)), image.sha256()));
        }
        Map<String, Object> accepted = new LinkedHashMap<>();
        accepted.put("set", set.name());
        accepted.put("limit", limit);
        accepted.putAll(bound.accepted());
        String synonyms = kind == BenchmarkKind.CHAIR ? json.writeValueAsString(set.synonyms()) : null;
        NewEvaluation evaluation = new NewEvaluation(UUID.randomUUID(), set.name(), kind.code(),
                json.writeValueAsString(accepted), synonyms, items);
        return new Admitted(evaluation, List.copyOf(byPath.values()));
    }

    /** A shipped image, checked as an upload would be (it is served back by /v1/images). */
    private ImageRecord image(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("benchmark image " + file, e);
        }
        ImageHeader header = images.prepare(bytes).header();
        return new ImageRecord(ImageRecord.sha256(bytes), bytes, header.format().mediaType(), header.width(),
                header.height());
    }

    /** The evaluation with its report over the items done so far. */
    public Mono<EvaluationView> find(UUID id) {
        return store.findVisible(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no evaluation with id " + id)))
                .flatMap(e -> Mono.zip(store.payloads(id), store.results(id, 0, Integer.MAX_VALUE))
                        .publishOn(Schedulers.boundedElastic())
                        .map(t -> EvaluationView.of(e, report(e, t.getT1(), t.getT2()), json)));
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

    /** Every item's rows, one per item and arm, as CSV (RFC 4180). */
    public Mono<String> csv(UUID id) {
        return store.findVisible(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no evaluation with id " + id)))
                .flatMap(e -> store.items(id, 0, e.totalItems()))
                .map(p -> {
                    StringBuilder out = new StringBuilder("item_index,question_id,status,arm,intervention,answer,"
                            + "leading_answer,correct,tokens,latency_ms,tokens_per_second,scores\r\n");
                    p.items().forEach(i -> {
                        JsonNode item = json.readTree(i.payloadJson());
                        for (EvaluationResultRecord r : i.results()) {
                            JsonNode scores = json.readTree(r.scoresJson());
                            out.append(csvRow(i.index(), item.path("question_id").asString(""), i.status(), r.armIndex(),
                                    r.intervention(), r.answer(), r.leadingAnswer(),
                                    scores.has("correct") ? scores.get("correct").asString() : "", r.tokens(),
                                    r.latencyMs(), r.tokensPerSecond(), r.scoresJson()));
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
        Synonyms synonyms = e.synonymsJson() == null ? null
                : new Synonyms(BenchmarkCatalog.synonymWords(e.synonymsJson()));
        return EvaluationReport.of(kind, synonyms, items, interventions, answers, Bootstrap.standard());
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
