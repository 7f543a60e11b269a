package io.sightline.engine.sampling;

import io.sightline.engine.DecodingOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * The sampler chain of one arm: temperature -> softmax -> sort -> top-k -> top-p -> dist(seed), or greedy when
 * the temperature is 0. Stateful (the seeded draw) and not thread-safe: each arm gets its own
 * ({@link io.sightline.engine.DecodingOptions.ArmSeeds} says with which seed).
 */
public final class Sampler {

    private final List<SamplerStep> steps;
    private Candidates candidates;

    private Sampler(List<SamplerStep> steps) {
        this.steps = List.copyOf(steps);
    }

    public static Sampler of(DecodingOptions o, long seed) {
        List<SamplerStep> chain = new ArrayList<>();
        if (o.isGreedy()) {
            chain.add(new Steps.Greedy());
        } else {
            chain.add(new Steps.Temperature(o.temperature()));
            chain.add(new Steps.Softmax());
            chain.add(new Steps.SortByProb());
            chain.add(new Steps.TopK(o.topK()));
            chain.add(new Steps.TopP(o.topP()));
            chain.add(new Steps.Dist(new SplitMix64(seed)));
        }
        return new Sampler(chain);
    }

    /** Chooses a token from raw logits [V]; the array is not modified. */
    public int sample(float[] logits) {
        if (candidates == null || candidates.ids.length != logits.length) {
            candidates = new Candidates(logits.length);
        }
        candidates.reset(logits);
        for (SamplerStep s : steps) {
            s.apply(candidates);
        }
        if (candidates.selected < 0) {
            throw new IllegalStateException("the sampler chain ended without selecting a token");
        }
        return candidates.selected;
    }

    /** log softmax(logits)[token] in float64: the logprob the engine reports per generated token. */
    public static double logprob(float[] logits, int token) {
        return LogSoftmax.of(logits).at(logits[token]);
    }

    /** A token with its log-probability. */
    public record Ranked(int token, double logprob) {
    }

    /**
     * The {@code k} most probable tokens of logits [V], most probable first, ties to the lower id (as {@code Greedy}
     * breaks them), each with the logprob {@link #logprob} gives it; all of V when {@code k} exceeds it.
     */
    public static List<Ranked> top(float[] logits, int k) {
        if (k < 0) {
            throw new IllegalArgumentException("k must be >= 0, was " + k);
        }
        int n = Math.min(k, logits.length);
        int[] best = new int[n];   // ids, most probable first
        int size = 0;
        for (int v = 0; v < logits.length; v++) {
            int at = size;
            while (at > 0 && logits[best[at - 1]] < logits[v]) {
                at--;
            }
            if (at < n) {
                size = Math.min(size + 1, n);
                System.arraycopy(best, at, best, at + 1, size - 1 - at);
                best[at] = v;
            }
        }
        LogSoftmax z = LogSoftmax.of(logits);
        List<Ranked> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(new Ranked(best[i], z.at(logits[best[i]])));
        }
        return out;
    }
}
