package io.sightline.intervention;

import io.sightline.engine.RowRef;

/**
 * An extra row of an arm: the same request with an input edit. It receives every token the arm chooses, keeps
 * its own KV cache, and is addressed by name, never by position.
 */
public record Branch(String name, InputEdit edit, Lifetime life) {

    public Branch {
        if (name == null || name.isBlank() || name.equals(RowRef.BASE)) {
            throw new IllegalArgumentException("branch name must be set and not '" + RowRef.BASE + "'");
        }
    }

    /** How the branch's input differs from the base row's. */
    public enum InputEdit {
        /** the base row's input; the branch differs by its controls (CausalMM's language counterfactual) */
        SAME,
        /** the prompt without the image token (PAI, VHR, M3ID's prompt-only row) */
        TEXT_ONLY,
        /**
         * its own vision row, written in {@link Steerer#beforeBranchImages} after the base image's probes were read
         * (VCD's noised image, CausalMM's counterfactual image)
         */
        OWN_IMAGE
    }

    /** How long the branch stays in the batch. */
    public enum Lifetime {
        /** every step, until the arm finishes */
        WHOLE,
        /** the prefill call only (VHR reads heads from it, then it retires) */
        PREFILL_ONLY,
        /**
         * a prefill of its own, unedited, in a call before the arm's prefill ({@link io.sightline.engine.Step#isProbe}):
         * its probes reach {@link Steerer#afterCall} in time to decide the prefill's controls (IAF's head factors)
         */
        PROBE
    }
}
