package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/**
 * The JSON of {@code POST /v1/generations/{id}/feedback}: which arm a person preferred (comparisons only) and, per
 * arm, whether its output hallucinated. At least one of the two is required.
 *
 * @param preferredArm index of the preferred arm
 * @param arms         per judged arm; each arm at most once
 */
public record FeedbackBody(@JsonProperty("preferred_arm") Integer preferredArm, String note, List<Arm> arms) {

    /** @param hallucinated whether the arm's output names something that is not in the image */
    // each Arm record has its own name in the OpenAPI document, whose schemas are named by simple class name
    @Schema(name = "FeedbackBodyArm")
    public record Arm(Integer arm, Boolean hallucinated, String note) {
    }
}
