package io.sightline.store;

import java.util.List;
import java.util.UUID;

/**
 * A generation as accepted, written with status {@code running} before inference starts.
 *
 * @param requestJson   the accepted request (decoding options, arms) as a JSON object
 * @param interventions the arms' intervention names, in arm order
 */
public record NewGeneration(UUID id, String prompt, String requestJson, List<String> interventions,
                            String imageSha256) {
}
