package io.sightline.intervention;

import io.sightline.engine.ImageInput;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.RowRef;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
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
    private final Preluder preluder;

    private interface Opener {
        Steerer open(ArmView arm);
    }

    private interface Prompter {
        String prompt(String row, String userPrompt);
    }

    private interface Preluder {
        ImageInput prelude(Prelude in);
    }

    private BoundArm(String intervention, Map<String, Object> params, Footprint footprint, Opener opener,
                     Prompter prompter, Preluder preluder) {
        this.intervention = intervention;
        this.params = params;
        this.footprint = footprint;
        this.opener = opener;
        this.prompter = prompter;
        this.preluder = preluder;
    }

    static <P extends Record> BoundArm bind(Intervention<P> iv, Map<String, Object> values, String field) {
        P p = Params.overlay(iv.defaults(), values, field);
        Footprint footprint;
        try {
            footprint = iv.footprint(p);
        } catch (InvalidParamsException e) {
            // checks that need the model (a layer index beyond its depth, VHR) run here, named like the record's
            throw e.under(field);
        }
        return new BoundArm(iv.name(), Collections.unmodifiableMap(Params.toMap(p)), footprint, arm -> iv.open(p, arm),
                (row, prompt) -> iv.prompt(p, row, prompt), in -> iv.prelude(p, in));
    }

    /** Several bound interventions as one arm (see {@link Composition} for the rule). */
    static BoundArm compose(List<BoundArm> parts, String field) {
        List<String> names = parts.stream().map(BoundArm::intervention).toList();
        Map<String, Object> params = new LinkedHashMap<>();
        parts.forEach(p -> params.put(p.intervention(), p.params()));
        Footprint footprint = Composition.footprint(names, parts.stream().map(BoundArm::footprint).toList(), field);
        return new BoundArm(String.join(Composition.SEPARATOR, names), Collections.unmodifiableMap(params), footprint,
                arm -> Composition.chain(names, parts, arm), (row, prompt) -> {
                    if (row.equals(RowRef.BASE)) {
                        String out = prompt;
                        for (BoundArm p : parts) {
                            out = p.prompt(row, out);
                        }
                        return out;
                    }
                    int slash = row.indexOf('/');
                    return parts.get(names.indexOf(row.substring(0, slash))).prompt(row.substring(slash + 1), prompt);
                }, in -> {
                    // preludes chain in list order, each on the image the previous one made
                    ImageInput image = in.image();
                    for (BoundArm p : parts) {
                        image = p.prelude(in.on(image));
                    }
                    return image;
                });
    }

    /** The prompt of one of the arm's rows (see {@link Intervention#prompt}). */
    public String prompt(String row, String userPrompt) {
        return prompter.prompt(row, userPrompt);
    }

    /** The image the arm's rows decode (see {@link Intervention#prelude}). */
    public ImageInput prelude(Prelude in) {
        return preluder.prelude(in);
    }

    public String intervention() {
        return intervention;
    }

    /** Effective parameters, snake_case; a composite arm's are keyed by part name. */
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
