package io.sightline.store;

/**
 * Stored outputs of one arm configuration (intervention and effective params) over a set of generations.
 *
 * @param paramsJson              the effective params, a JSON object
 * @param visualAttentionRatio    mean over outputs that have the score; null when none has
 * @param preferences             feedback on comparisons holding this arm that named a preferred arm
 * @param wins                    of those, how many preferred this arm
 * @param judgements              per-arm hallucination judgements of this arm's outputs
 * @param hallucinated            of those, how many said it hallucinated
 */
public record ArmAggregate(String intervention, String paramsJson, long outputs, Double visualAttentionRatio,
                           double meanTokens, double latencyP50Ms, double latencyP95Ms, long preferences, long wins,
                           long judgements, long hallucinated) {
}
