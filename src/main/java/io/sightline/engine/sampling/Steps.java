package io.sightline.engine.sampling;

/**
 * The sampler chain's steps. Their order and arithmetic follow onnx-models/README.md "Sampling" and
 * reference.py PortableSampler line by line (float64 throughout), so that seeded draws match the reference.
 */
final class Steps {

    private Steps() {
    }

    /** Divides logits by the temperature (> 0). */
    record Temperature(double t) implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            for (int i = 0; i < c.size; i++) {
                c.logits[i] = c.logits[i] / t;
            }
            c.softmaxed = false;
        }
    }

    /** Probabilities over the current candidates; -inf logits get 0. */
    record Softmax() implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < c.size; i++) {
                max = Math.max(max, c.logits[i]);
            }
            double sum = 0;
            for (int i = 0; i < c.size; i++) {
                c.probs[i] = Math.exp(c.logits[i] - max);
                sum += c.probs[i];
            }
            for (int i = 0; i < c.size; i++) {
                c.probs[i] /= sum;
            }
            c.softmaxed = true;
        }
    }

    /** Sorts by probability descending, ties to the lower id (the reference's sort key (-p, id)). */
    record SortByProb() implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            requireSoftmax(c, "sort");
            Integer[] order = new Integer[c.size];
            for (int i = 0; i < c.size; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> {
                int byProb = Double.compare(c.probs[b], c.probs[a]);
                return byProb != 0 ? byProb : Integer.compare(c.ids[a], c.ids[b]);
            });
            int[] ids = new int[c.size];
            double[] logits = new double[c.size];
            double[] probs = new double[c.size];
            for (int i = 0; i < c.size; i++) {
                ids[i] = c.ids[order[i]];
                logits[i] = c.logits[order[i]];
                probs[i] = c.probs[order[i]];
            }
            System.arraycopy(ids, 0, c.ids, 0, c.size);
            System.arraycopy(logits, 0, c.logits, 0, c.size);
            System.arraycopy(probs, 0, c.probs, 0, c.size);
            c.sorted = true;
        }
    }

    /** Keeps the k most probable; 0 = off. */
    record TopK(int k) implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            if (k <= 0) {
                return;
            }
            requireSorted(c, "top-k");
            c.size = Math.min(c.size, k);
        }
    }

    /** Keeps the smallest prefix whose (unrenormalised) cumulative probability reaches p; 1 = off. */
    record TopP(double p) implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            if (p >= 1.0) {
                return;
            }
            requireSorted(c, "top-p");
            double cum = 0;
            for (int i = 0; i < c.size; i++) {
                cum += c.probs[i];
                if (cum >= p) {
                    c.size = i + 1;
                    return;
                }
            }
        }
    }

    /** Selects the highest logit, ties to the lower id (torch.argmax). */
    record Greedy() implements SamplerStep {
        @Override
        public void apply(Candidates c) {
            int best = 0;
            for (int i = 1; i < c.size; i++) {
                if (c.logits[i] > c.logits[best] || (c.logits[i] == c.logits[best] && c.ids[i] < c.ids[best])) {
                    best = i;
                }
            }
            c.selected = c.ids[best];
        }
    }

    /** Draws one uniform u per step and selects the first candidate whose renormalised cumulative mass exceeds it. */
    static final class Dist implements SamplerStep {
        private final SplitMix64 rng;

        Dist(SplitMix64 rng) {
            this.rng = rng;
        }

        @Override
        public void apply(Candidates c) {
            requireSoftmax(c, "dist");
            double u = rng.nextDouble();
            double total = 0;
            for (int i = 0; i < c.size; i++) {
                total += c.probs[i];
            }
            double cum = 0;
            for (int i = 0; i < c.size; i++) {
                cum += c.probs[i] / total;
                if (cum > u) {
                    c.selected = c.ids[i];
                    return;
                }
            }
            c.selected = c.ids[c.size - 1];
        }
    }

    private static void requireSoftmax(Candidates c, String step) {
        if (!c.softmaxed) {
            throw new IllegalStateException(step + " needs probabilities: put Softmax before it in the chain");
        }
    }

    private static void requireSorted(Candidates c, String step) {
        if (!c.sorted) {
            throw new IllegalStateException(step + " needs candidates sorted by probability");
        }
    }
}
