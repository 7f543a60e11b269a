package io.sightline.engine.sampling;

import io.sightline.engine.DecodingOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * The sampler chain of one arm: temperature -> softmax -> sort -> top-k -> top-p -> dist(seed), or greedy when
 * the temperature is 0. Not thread-safe; {@link #forArm()} gives each arm its own copy of the seeded state.
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

    /** An independent copy (same seed state) for another arm. */
    public Sampler forArm() {
        return new Sampler(steps.stream().map(SamplerStep::forArm).toList());
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
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return logits[token] - max - Math.log(sum);
    }
}
