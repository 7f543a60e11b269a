package io.sightline.store;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * A generation row with its image's metadata and its outputs (empty unless completed).
 *
 * @param reason    why it failed; null otherwise
 * @param startedAt when a worker began inference; null while queued or when it never started
 * @param latencyMs wall-clock milliseconds of the engine call; null unless it ran
 */
public record StoredGeneration(UUID id, String status, String reason, String prompt, String requestJson,
                               String imageSha256, String imageMediaType, int imageWidth, int imageHeight,
                               Instant createdAt, Instant startedAt, Instant finishedAt, Double latencyMs,
                               List<OutputRecord> outputs) {

    StoredGeneration withOutputs(List<OutputRecord> outputs) {
        return new StoredGeneration(id, status, reason, prompt, requestJson, imageSha256, imageMediaType, imageWidth,
                imageHeight, createdAt, startedAt, finishedAt, latencyMs, List.copyOf(outputs));
    }
}
