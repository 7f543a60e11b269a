package io.sightline.engine.sampling;

/**
 * Token candidates of one sampling step as parallel arrays (after llama.cpp's llama_token_data_array). Steps
 * shrink {@code size}, rescale {@code logits}, fill {@code probs}, reorder (setting {@code sorted}) or set
 * {@code selected}. Whether the first {@code size} entries are sorted by probability is a flag steps must check.
 */
public final class Candidates {

    final int[] ids;
    final double[] logits;
    final double[] probs;
    int size;
    boolean sorted;
    boolean softmaxed;
    int selected = -1;

    Candidates(int capacity) {
        ids = new int[capacity];
        logits = new double[capacity];
        probs = new double[capacity];
    }

    void reset(float[] raw) {
        for (int i = 0; i < raw.length; i++) {
            ids[i] = i;
            logits[i] = raw[i];
        }
        size = raw.length;
        sorted = false;
        softmaxed = false;
        selected = -1;
    }

    public int size() {
        return size;
    }

    public int id(int i) {
        return ids[i];
    }

    public double prob(int i) {
        return probs[i];
    }

    public boolean sorted() {
        return sorted;
    }

    /** The chosen token id, or -1 before a selecting step ran. */
    public int selected() {
        return selected;
    }
}
