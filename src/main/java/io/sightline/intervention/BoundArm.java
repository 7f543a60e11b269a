package io.sightline.intervention;

import java.util.Collections;
import java.util.Map;

/**
 * An arm after admission: its intervention with validated parameters and footprint, ready to open a steerer.
 * Binding happens before any ONNX call, so bad parameters fail the request up front (STYLE.md rule 6).
 */
public final class BoundArm {

    private final String intervention;
    private final Map<String, Object> params;
    private final Footprint footprint;
    private final Opener opener;
    private final Prompter prompter;

    private interface Opener {
        Steerer open(ArmView arm);
    }

    private interface Prompter {
        String prompt(String row, String userPrompt);
    }

    private BoundArm(String intervention, Map<String, Object> params, Footprint footprint, Opener opener,
                     Prompter prompter) {
        this.intervention = intervention;
        this.params = params;
        this.footprint = footprint;
        this.opener = opener;
        this.prompter = prompter;
    }

    static <P extends Record> BoundArm bind(Intervention<P> iv, Map<String, Object> values, String field) {
        P p = Params.overlay(iv.defaults(), values, field);
        return new BoundArm(iv.name(), Collections.unmodifiableMap(Params.toMap(p)), iv.footprint(p), arm -> iv.open(p, arm),
                (row, prompt) -> iv.prompt(p, row, prompt));
    }

    /** The prompt of one of the arm's rows (see {@link Intervention#prompt}). */
    public String prompt(String row, String userPrompt) {
        return prompter.prompt(row, userPrompt);
    }

    public String intervention() {
        return intervention;
    }

    /** Effective parameters, snake_case. */
    public Map<String, Object> params() {
        return params;
    }

    public Footprint footprint() {
        return footprint;
    }

    /** A fresh steerer for one arm of one request. */
    public Steerer open(ArmView arm) {
        return opener.open(arm);
    }
}
