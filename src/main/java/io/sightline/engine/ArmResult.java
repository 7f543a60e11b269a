package io.sightline.engine;

import java.util.Map;

/**
 * What one arm produced.
 *
 * @param params          the effective parameters (request values over the method's defaults)
 * @param tokens          generated token ids (the stop string and eos excluded)
 * @param logprobs        per generated token, log-probability of the chosen token under the distribution it was
 *                        drawn from (after the arm's combine step, before temperature)
 * @param latencyNanos    from the start of {@code generate} to this arm's last token
 * @param tokensPerSecond generated tokens / latency
 * @param scores          per-output scores; the engine fills {@code mean_logprob} and {@code visual_attention_ratio} (rows with an image)
 */
public record ArmResult(String intervention, Map<String, Object> params, String text, int[] tokens, float[] logprobs,
                        long latencyNanos, double tokensPerSecond, Map<String, Double> scores) {
}
