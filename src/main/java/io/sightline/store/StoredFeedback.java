package io.sightline.store;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** A stored {@link NewFeedback} with its creation time. */
public record StoredFeedback(UUID id, UUID generationId, Integer preferredArm, String note,
                            List<NewFeedback.Arm> arms, Instant createdAt) {
}
