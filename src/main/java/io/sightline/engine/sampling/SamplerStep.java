package io.sightline.engine.sampling;

/** One link of the sampler chain; edits the candidates in place. */
public interface SamplerStep {

    void apply(Candidates c);
}
