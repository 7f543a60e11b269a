package io.sightline.engine;

/** Sees each token as an arm chooses it (streaming, time to first token). Called on the generating thread. */
@FunctionalInterface
public interface TokenListener {

    TokenListener NONE = (arm, token, logprob, nanos) -> {
    };

    /**
     * @param arm   the arm's index in the request
     * @param nanos since {@code generate} was called
     */
    void onToken(int arm, int token, float logprob, long nanos);

    /** The final logits [V] an arm's token is sampled from (after its intervention combined them); a view for this call only. */
    default void onLogits(int arm, float[] logits) {
    }
}
