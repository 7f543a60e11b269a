package io.sightline.store;

import java.util.List;
import java.util.UUID;

/**
 * A person's judgement of one generation's arms.
 *
 * @param preferredArm the arm they preferred; null when they only judged hallucinations
 * @param arms         per judged arm: did its output hallucinate
 */
public record NewFeedback(UUID id, UUID generationId, Integer preferredArm, String note, List<Arm> arms) {

    public record Arm(int arm, boolean hallucinated, String note) {
    }
}
