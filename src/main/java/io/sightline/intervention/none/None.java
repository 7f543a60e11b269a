package io.sightline.intervention.none;

import io.sightline.intervention.ArmView;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Steerer;

/** Plain decoding: neutral controls, no branches, no probes. The baseline arm of every comparison. */
public final class None implements Intervention<None.Params> {

    public static final None INSTANCE = new None();

    /** No parameters. */
    public record Params() {
    }

    private static final Steerer PLAIN = new Steerer() {
    };

    private None() {
    }

    @Override
    public String name() {
        return "none";
    }

    @Override
    public String paper() {
        return "";
    }

    @Override
    public String summary() {
        return "Plain decoding: the model's own logits, no branches, no edits; the baseline of every comparison.";
    }

    @Override
    public Params defaults() {
        return new Params();
    }

    @Override
    public Footprint footprint(Params p) {
        return Footprint.none();
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        return PLAIN;
    }
}
