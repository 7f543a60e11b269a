package io.sightline.engine;

/** Read-only view of floats owned by the engine; valid only inside the hook that received it. */
public interface FloatView {

    int size();

    float get(int i);

    default float[] copy() {
        float[] out = new float[size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(i);
        }
        return out;
    }
}
