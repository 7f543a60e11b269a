package io.sightline.engine.sampling;

/**
 * The normaliser of log_softmax over logits [V]: {@code log p(v) = l[v] - max - logSum}, with the max taken out
 * before exponentiating so that no logit overflows. One place for it, so that a sampled token's logprob, its
 * top_logprobs ranking and the contrastive methods' log-probabilities agree bit for bit.
 *
 * @param max    the largest logit
 * @param logSum {@code log(sum_v exp(l[v] - max))}
 */
public record LogSoftmax(double max, double logSum) {

    public static LogSoftmax of(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        return new LogSoftmax(max, Math.log(sum));
    }

    /** The log-probability of a token whose logit is {@code logit}. */
    public double at(float logit) {
        return logit - max - logSum;
    }

    /** log_softmax of every logit (the ones this was made from). */
    public double[] all(float[] logits) {
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = at(logits[i]);
        }
        return out;
    }
}
