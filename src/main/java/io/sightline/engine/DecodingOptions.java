package io.sightline.engine;

import java.util.List;

/**
 * Decoding settings shared by every arm of a request.
 *
 * @param maxNewTokens generated tokens at most, 1..{@value #MAX_NEW_TOKENS}
 * @param temperature  0 = greedy; otherwise logits are divided by it before softmax
 * @param topK         0 = off
 * @param topP         1 = off; (0, 1]
 * @param seed         seed of the portable SplitMix64 generator; null = drawn per request
 * @param stop         strings that end an arm's text when they appear in it (the stop string is cut off)
 * @param armSeeds     how the arms' sampled streams relate to {@code seed}
 */
public record DecodingOptions(int maxNewTokens, double temperature, int topK, double topP, Long seed,
                              List<String> stop, ArmSeeds armSeeds) {

    /** Which seed each arm of a request samples with. */
    public enum ArmSeeds {
        /** Every arm draws from the same stream, so that arms differ only by their intervention (paired comparisons). */
        SHARED,
        /** Arm i draws from {@code seed + i}: independent samples of the same distribution (OpenAI's {@code n}). */
        CONSECUTIVE;

        public long of(long seed, int arm) {
            return this == SHARED ? seed : seed + arm;
        }
    }

    public static final int MAX_NEW_TOKENS = 1024;
    public static final int MAX_STOP_STRINGS = 8;

    public DecodingOptions {
        if (maxNewTokens < 1 || maxNewTokens > MAX_NEW_TOKENS) {
            throw new InvalidParamsException("max_new_tokens", "must be in 1.." + MAX_NEW_TOKENS + ", was " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new InvalidParamsException("temperature", "must be a finite number >= 0, was " + temperature);
        }
        if (topK < 0) {
            throw new InvalidParamsException("top_k", "must be >= 0 (0 = off), was " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidParamsException("top_p", "must be in (0, 1] (1 = off), was " + topP);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        armSeeds = armSeeds == null ? ArmSeeds.SHARED : armSeeds;
        if (stop.size() > MAX_STOP_STRINGS) {
            throw new InvalidParamsException("stop", "at most " + MAX_STOP_STRINGS + " strings, was " + stop.size());
        }
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new InvalidParamsException("stop", "stop strings must not be empty");
            }
        }
    }

    /** Arms share one seeded stream ({@link ArmSeeds#SHARED}). */
    public DecodingOptions(int maxNewTokens, double temperature, int topK, double topP, Long seed, List<String> stop) {
        this(maxNewTokens, temperature, topK, topP, seed, stop, ArmSeeds.SHARED);
    }

    public static DecodingOptions greedy(int maxNewTokens) {
        return new DecodingOptions(maxNewTokens, 0, 0, 1, null, List.of());
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
