package io.sightline.api;

import io.sightline.engine.GenerationRequest;
import io.sightline.vision.PreparedImage;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A request that passed every check and can be stored and run.
 *
 * @param accepted      the request as it will be stored: effective decoding options and arm parameters
 * @param interventions the arms' intervention names, in arm order
 * @param timeout       how long the generation may take from the moment it is queued
 */
record AdmittedGeneration(GenerationRequest request, PreparedImage image, byte[] imageBytes, String imageSha256,
                          Map<String, Object> accepted, List<String> interventions, Duration timeout) {
}
