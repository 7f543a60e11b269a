package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.scoring.Interval;
import io.swagger.v3.oas.annotations.media.Schema;
import java.time.Instant;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * {@code GET /v1/experiments/summary}: stored generations aggregated per arm configuration.
 *
 * @param from         the filter's lower bound (inclusive), null = open
 * @param to           the filter's upper bound (exclusive), null = open
 * @param intervention only generations with an arm of this method; null = all
 */
public record ExperimentSummaryView(Instant from, Instant to, String intervention, List<Arm> arms) {

    /**
     * One intervention with one set of effective params.
     *
     * @param winRate           share of preferences (on comparisons holding this arm) that chose it, with its 95%
     *                          Wilson interval; null without preferences
     * @param hallucinationRate share of this arm's judged outputs said to hallucinate, 95% Wilson; null without
     *                          judgements
     */
    // each Arm record has its own name in the OpenAPI document, whose schemas are named by simple class name
    @Schema(name = "ExperimentArm")
    public record Arm(String intervention, JsonNode params, long outputs,
                      @JsonProperty("visual_attention_ratio") Double visualAttentionRatio,
                      @JsonProperty("mean_tokens") double meanTokens,
                      @JsonProperty("latency_p50_ms") double latencyP50Ms,
                      @JsonProperty("latency_p95_ms") double latencyP95Ms,
                      long preferences, long wins, @JsonProperty("win_rate") Interval winRate,
                      long judgements, long hallucinated,
                      @JsonProperty("hallucination_rate") Interval hallucinationRate) {
    }
}
