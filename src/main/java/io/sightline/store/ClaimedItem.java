package io.sightline.store;

import java.util.UUID;

/** An item a worker leased: run it, then store its results or let the lease go. */
public record ClaimedItem(UUID evaluationId, int index, String payloadJson, String imageSha256, int attempts) {
}
