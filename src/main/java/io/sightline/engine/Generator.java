package io.sightline.engine;

import io.sightline.intervention.InterventionRegistry;
import java.util.List;

/**
 * Runs a {@link GenerationRequest}: every arm's rows prefill and decode together in one decoder call per step.
 * Blocking; safe to call from several threads at once (each call has its own buffers and KV cache).
 */
public final class Generator {

    private final OrtVlm model;
    private final Tokenizer tokenizer;
    private final InterventionRegistry registry;

    public Generator(OrtVlm model, Tokenizer tokenizer, InterventionRegistry registry) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.registry = registry;
    }

    public InterventionRegistry registry() {
        return registry;
    }

    /** One result per arm, in request order. */
    public List<ArmResult> generate(GenerationRequest req, Cancellation cancel) {
        throw new UnsupportedOperationException("step loop lands in the next commit");
    }
}
