package io.sightline.api;

import io.sightline.engine.TokenListener;
import io.sightline.engine.sampling.Sampler;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Hands on each chosen token together with the {@code k} most probable tokens of the logits it was drawn from: the
 * arm's final logits ({@link TokenListener#onLogits}, after its intervention combined them), ranked by
 * {@link Sampler#top}, which computes their logprobs exactly as the engine computes the chosen token's. So the chosen
 * token's entry, when it is among them, has its logprob. Runs on the engine's threads, one call at a time.
 */
final class TopLogprobs implements TokenListener {

    /** Gets each chosen token; {@code top} is empty when {@code k} is 0. */
    @FunctionalInterface
    interface Sink {
        void accept(int arm, int token, float logprob, List<Sampler.Ranked> top);
    }

    private final int k;
    private final Sink sink;
    private final List<List<Sampler.Ranked>> pending;   // per arm: the ranking of the step under way

    TopLogprobs(int arms, int k, Sink sink) {
        this.k = k;
        this.sink = sink;
        this.pending = new ArrayList<>(Collections.nCopies(arms, List.of()));
    }

    @Override
    public void onLogits(int arm, float[] logits) {
        if (k > 0) {
            pending.set(arm, Sampler.top(logits, k));
        }
    }

    @Override
    public void onToken(int arm, int token, float logprob, long nanos) {
        sink.accept(arm, token, logprob, pending.get(arm));
    }
}
