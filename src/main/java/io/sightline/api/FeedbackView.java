package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.store.StoredFeedback;
import io.swagger.v3.oas.annotations.media.Schema;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** Stored feedback on one generation. */
public record FeedbackView(UUID id, @JsonProperty("generation_id") UUID generationId,
                           @JsonProperty("preferred_arm") Integer preferredArm, String note, List<Arm> arms,
                           @JsonProperty("created_at") Instant createdAt) {

    // each Arm record has its own name in the OpenAPI document, whose schemas are named by simple class name
    @Schema(name = "FeedbackArm")
    public record Arm(int arm, boolean hallucinated, String note) {
    }

    static FeedbackView of(StoredFeedback f) {
        return new FeedbackView(f.id(), f.generationId(), f.preferredArm(), f.note(),
                f.arms().stream().map(a -> new Arm(a.arm(), a.hallucinated(), a.note())).toList(), f.createdAt());
    }
}
