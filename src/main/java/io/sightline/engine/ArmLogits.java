package io.sightline.engine;

/** Logits of one arm for one step: the base row's as an editable copy, branch rows as views. */
public interface ArmLogits {

    /** [V] the base row's raw logits; edit in place, the sampler reads the result. */
    float[] base();

    /** [V] a branch row's raw logits. */
    FloatView branch(String name);
}
