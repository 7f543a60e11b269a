package io.sightline.store;

import java.util.List;
import java.util.UUID;

/**
 * An evaluation as accepted, with every item it will run.
 *
 * @param kind         how items are prompted and scored (pope, chair, sycophancy, fine-grained)
 * @param requestJson  the accepted request (set, limit, decoding options, arms) as a JSON object
 * @param synonymsJson CHAIR: object -> naming words as a JSON object; null for the other kinds
 */
public record NewEvaluation(UUID id, String setName, String kind, String requestJson, String synonymsJson,
                            List<Item> items) {

    /**
     * @param payloadJson the benchmark item in its file format, a JSON object
     */
    public record Item(int index, String payloadJson, String imageSha256) {
    }
}
