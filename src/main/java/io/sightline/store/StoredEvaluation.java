package io.sightline.store;

import java.time.Instant;
import java.util.UUID;

/**
 * An evaluation row with its progress.
 *
 * @param doneItems      items whose results for every arm are stored
 * @param failedItems    items that failed on every attempt they were allowed
 * @param lastItemAt     when the latest item ended (done or failed); null before the first
 */
public record StoredEvaluation(UUID id, String status, String reason, String setName, String kind,
                               String requestJson, String synonymsJson, int totalItems, int doneItems, int failedItems,
                               Instant createdAt, Instant startedAt, Instant finishedAt, Instant lastItemAt) {
}
