package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.eval.EvaluationReport;
import io.sightline.store.StoredEvaluation;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * An evaluation as the API shows it, built from stored rows.
 *
 * @param kind    how items are prompted and scored: pope, chair, sycophancy, fine-grained
 * @param request the accepted request: set, limit, effective decoding options and arm parameters
 * @param report  per-arm metrics and paired tests over the items done so far; null in lists
 */
public record EvaluationView(UUID id, String status, String reason, String set, String kind, JsonNode request,
                             Progress progress,
                             @JsonProperty("created_at") Instant createdAt,
                             @JsonProperty("started_at") Instant startedAt,
                             @JsonProperty("finished_at") Instant finishedAt,
                             EvaluationReport report) {

    /**
     * @param failed         items that failed on every attempt they were allowed (sightline.eval.max-attempts)
     * @param itemsPerSecond ended (done or failed) items over the time from the start to the latest one; null before
     *                       one has ended
     * @param etaSeconds     items left at that rate; null while unknown or once the evaluation has ended
     */
    public record Progress(int done, int failed, int total, @JsonProperty("items_per_second") Double itemsPerSecond,
                           @JsonProperty("eta_seconds") Double etaSeconds) {
    }

    static EvaluationView of(StoredEvaluation e, EvaluationReport report, JsonMapper json) {
        Double rate = null;
        int ended = e.doneItems() + e.failedItems();
        if (e.startedAt() != null && e.lastItemAt() != null && ended > 0) {
            double seconds = Duration.between(e.startedAt(), e.lastItemAt()).toNanos() / 1e9;
            rate = seconds > 0 ? ended / seconds : null;
        }
        Double eta = isOpen(e) && rate != null ? (e.totalItems() - ended) / rate : null;
        return new EvaluationView(e.id(), e.status(), e.reason(), e.setName(), e.kind(), json.readTree(e.requestJson()),
                new Progress(e.doneItems(), e.failedItems(), e.totalItems(), rate, eta), e.createdAt(), e.startedAt(),
                e.finishedAt(), report);
    }

    /** Queued or running: items may still be done, and the report may still change. */
    static boolean isOpen(StoredEvaluation e) {
        return e.status().equals("queued") || e.status().equals("running");
    }
}
