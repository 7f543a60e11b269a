package io.sightline.intervention.lqcd;

import io.sightline.engine.ArmLogits;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.RowRef;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Branch;
import io.sightline.intervention.Contrast;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LQCD, Leading Query Contrastive Decoding (Zhao, Zhang, Xiao, Ke, Hou, Hao, Guo, Chen, "Towards Analyzing and
 * Mitigating Sycophancy in Large Vision-Language Models", arXiv 2408.11261 v1, 2024; v2 renames it ITSM). Each step decodes the image with the
 * neutral query (the emitting row) and with the leading query as two rows of one batch and emits from
 * (1 + α) l_neutral - α l_leading, restricted to tokens with l_neutral >= max(l_neutral) + ln β.
 *
 * <p>No official code. The query pair follows onnx-models/tools/methods/lqcd.py for this model's vocabulary: a
 * prompt "&lt;cue&gt; . &lt;question&gt;" with a leading cue ("i think|i am sure there is a(n) X here") answers the question
 * and contrasts the whole prompt; a neutral existence question "is there a(n) X in the image ?" contrasts
 * {@code leading_template} + the question; {@code neutral_prompt} / {@code leading_prompt} override the rule. Any other
 * prompt has no leading counterpart and decodes plainly, without the leading row (it is not run at all).
 *
 * <p>Deviations: α and β are not retrievable from the paper (spec: VCD's convention 1 / 0.1, exposed); the
 * plausibility cutoff is assumed to take VCD's form on the neutral row; v2's LLM query neutraliser and sentiment
 * scaler are not implemented. The ABI expresses the method exactly (two prompts, left-padded in one batch, each
 * with its own positions from 0 and its own KV cache). No-op: α = 0.
 */
public final class Lqcd implements Intervention<Lqcd.Params> {

    static final String LEADING = "leading";
    private static final Pattern CUE = Pattern.compile("^(?:i think|i am sure) there is an? (\\w+) here \\. (.+)$");
    private static final Pattern EXIST = Pattern.compile("^is there an? (\\w+) in the image \\?$");

    /**
     * @param alpha           α, weight of the contrast
     * @param beta            β, plausibility cutoff relative to the neutral row's top probability
     * @param leadingTemplate cue put before a neutral existence question; {s} stands for its shape
     * @param neutralPrompt   the neutral query, overriding the rule (null: derived from the prompt)
     * @param leadingPrompt   the leading query, overriding the rule (null: derived, or none with neutral_prompt)
     */
    public record Params(@Range(min = 0) double alpha, @Range(min = 0, max = 1, minExclusive = true) double beta,
                         String leadingTemplate, String neutralPrompt, String leadingPrompt) {
        public Params {
            if (!(alpha >= 0)) {
                throw new InvalidParamsException("alpha", "must be >= 0, was " + alpha);
            }
            if (!(beta > 0 && beta <= 1)) {
                throw new InvalidParamsException("beta", "must be in (0, 1], was " + beta);
            }
            if (leadingTemplate == null) {
                throw new InvalidParamsException("leading_template", "must be set");
            }
            if (neutralPrompt != null && neutralPrompt.isBlank()) {
                throw new InvalidParamsException("neutral_prompt", "must be null or a query, was blank");
            }
            if (leadingPrompt != null && leadingPrompt.isBlank()) {
                throw new InvalidParamsException("leading_prompt", "must be null or a query, was blank");
            }
        }
    }

    /** The two queries of a prompt; {@code leading} null when the prompt has no leading counterpart. */
    record QueryPair(String neutral, String leading) {
    }

    @Override
    public String name() {
        return "lqcd";
    }

    @Override
    public String paper() {
        return "Zhao, Zhang, Xiao, Ke, Hou, Hao, Guo, Chen, Towards Analyzing and Mitigating Sycophancy in Large "
                + "Vision-Language Models, arXiv 2408.11261 v1, 2024";
    }

    @Override
    public String summary() {
        return "Answers the neutral form of a leading question and contrasts it with the leading form, among the tokens "
                + "the neutral row finds plausible.";
    }

    @Override
    public Params defaults() {
        // the strongest cue of the training world (sycophancy knob 0.75), as methods/lqcd.py
        return new Params(1.0, 0.1, "i am sure there is a {s} here . ", null, null);
    }

    @Override
    public Footprint footprint(Params p) {
        return new Footprint(List.of(new Branch(LEADING, Branch.InputEdit.SAME, Branch.Lifetime.WHOLE)),
                Set.of(Slot.LOGITS), Set.of());
    }

    @Override
    public String prompt(Params p, String row, String userPrompt) {
        QueryPair q = queryPair(p, userPrompt);
        return row.equals(RowRef.BASE) ? q.neutral() : q.leading();
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        if (queryPair(p, arm.prompt()).leading() == null) {
            return new Steerer() {
            };
        }
        return new Steerer() {
            @Override
            public void combine(Step step, ArmLogits io) {
                Contrast.contrastLogits(io.base(), Contrast.widen(io.branch(LEADING).copy()), p.alpha(), p.beta());
            }
        };
    }

    /** methods/lqcd.py query_pair: overrides first, then the cue and existence rules on the normalised prompt. */
    static QueryPair queryPair(Params p, String prompt) {
        String norm = String.join(" ", prompt.toLowerCase(Locale.ROOT).trim().split("\\s+"));
        if (p.neutralPrompt() != null || p.leadingPrompt() != null) {
            return new QueryPair(p.neutralPrompt() != null ? p.neutralPrompt() : norm, p.leadingPrompt());
        }
        Matcher cue = CUE.matcher(norm);
        if (cue.matches()) {
            return new QueryPair(cue.group(2), norm);
        }
        Matcher exist = EXIST.matcher(norm);
        if (exist.matches()) {
            return new QueryPair(norm, p.leadingTemplate().replace("{s}", exist.group(1)) + norm);
        }
        return new QueryPair(norm, null);
    }
}
