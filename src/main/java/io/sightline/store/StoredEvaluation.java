package io.sightline.store;

import java.time.Instant;
import java.util.UUID;

/**
 * An evaluation row with its progress.
 *
 * @param doneItems      items whose results for every arm are stored
 * @param lastItemAt     when the latest item was done; null before the first
 */
public record StoredEvaluation(UUID id, String status, String reason, String setName, String kind,
                               String requestJson, String synonymsJson, int totalItems, int doneItems,
                               Instant createdAt, Instant startedAt, Instant finishedAt, Instant lastItemAt) {
}
