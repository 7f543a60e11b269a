package io.sightline.engine.sampling;

/** One link of the sampler chain; edits the candidates in place. */
public interface SamplerStep {

    void apply(Candidates c);

    /** Stateful steps (the seeded draw) return an independent copy, so that arms never share state. */
    default SamplerStep forArm() {
        return this;
    }
}
