package io.sightline.store;

/**
 * One arm's output row. JSON columns travel as JSON text; {@code api/} owns the mapping to and from objects.
 *
 * @param paramsJson   effective parameters, a JSON object
 * @param logprobsJson per generated token, the chosen token's log-probability, a JSON array
 * @param scoresJson   per-output scores, a JSON object
 */
public record OutputRecord(int armIndex, String intervention, String paramsJson, String text, int[] tokens,
                           String logprobsJson, double latencyMs, double tokensPerSecond, String scoresJson) {
}
