package io.sightline.intervention;

import io.sightline.engine.ImageInput;

/**
 * A decoding-time intervention (STYLE.md §2.1). Implementations are stateless singletons: everything mutable lives
 * in the {@link Steerer} that {@link #open} returns for one arm.
 *
 * @param <P> the parameter record; its compact constructor validates, throwing InvalidParamsException
 */
public interface Intervention<P extends Record> {

    /** Registry and API key: the lowercase acronym, e.g. {@code vcd}. */
    String name();

    /** The paper's title, authors and venue, for {@code GET /v1/interventions}. */
    String paper();

    /** One line: what the method does at each step. */
    String summary();

    /** Paper / official-code values; request values overlay them (see {@link Params#overlay}). */
    P defaults();

    /** Extra rows, control slots and probes of an arm with these parameters, known before any ONNX call. */
    Footprint footprint(P p);

    /**
     * The prompt row {@code row} ({@link io.sightline.engine.RowRef#BASE} or a branch name) decodes, given the
     * user's: the user's own by default. LQCD answers the neutral query and contrasts the leading one. Null for a
     * branch: this prompt needs no such row (LQCD's prompts without a leading counterpart), so it is not run and
     * {@link ArmView#branch} does not know it; the steerer must not read it.
     */
    default String prompt(P p, String row, String userPrompt) {
        return userPrompt;
    }

    /**
     * A stage before the arm joins the batch: the image its rows decode, given the request's (the same by default).
     * CARVE runs probe generations through {@code in} and answers on a refined image. Runs after admission (bad
     * parameters of any arm fail before it), once per arm; a method with a prelude keeps what it learns in the
     * returned image, not in state.
     */
    default ImageInput prelude(P p, Prelude in) {
        return in.image();
    }

    /** Fresh per arm; the only place mutable state may live. */
    Steerer open(P p, ArmView arm);
}
