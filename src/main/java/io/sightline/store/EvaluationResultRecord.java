package io.sightline.store;

/**
 * One arm's result on one evaluation item.
 *
 * @param answer        the answer to the item's prompt (sycophancy: to the neutral question)
 * @param leadingAnswer sycophancy: the answer to the leading question; null otherwise
 * @param tokens        generated tokens over the item's prompts
 * @param scoresJson    the item's scores under the set's metric and the engine's scores, a JSON object
 * @param worker        the worker that produced it
 */
public record EvaluationResultRecord(int itemIndex, int armIndex, String intervention, String answer,
                                     String leadingAnswer, int tokens, double latencyMs, double tokensPerSecond,
                                     String scoresJson, String worker) {
}
