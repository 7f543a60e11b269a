package io.sightline.scoring;

import java.util.List;
import java.util.Locale;

/**
 * POPE confusion counts and the metrics reference.py pope_metrics derives from them; precision, recall and F1 are 0
 * when undefined, as there.
 */
public record PopeScore(int n, int truePositives, int falsePositives, int trueNegatives, int falseNegatives) {

    /** One scored question: was the object there, and did the model say yes. */
    public record Outcome(boolean labelYes, boolean answeredYes) {

        public static Outcome of(PopeItem item, String answer) {
            return new Outcome(item.labelYes(), saysYes(answer));
        }
    }

    /** reference.py yes(): the answer, stripped and lower-cased, starts with "yes". */
    public static boolean saysYes(String answer) {
        return answer.strip().toLowerCase(Locale.ROOT).startsWith("yes");
    }

    public static PopeScore of(List<Outcome> outcomes) {
        int tp = 0;
        int fp = 0;
        int tn = 0;
        int fn = 0;
        for (Outcome o : outcomes) {
            if (o.labelYes()) {
                if (o.answeredYes()) {
                    tp++;
                } else {
                    fn++;
                }
            } else if (o.answeredYes()) {
                fp++;
            } else {
                tn++;
            }
        }
        return new PopeScore(outcomes.size(), tp, fp, tn, fn);
    }

    public double accuracy() {
        return (double) (truePositives + trueNegatives) / n;
    }

    public double precision() {
        return truePositives + falsePositives == 0 ? 0 : (double) truePositives / (truePositives + falsePositives);
    }

    public double recall() {
        return truePositives + falseNegatives == 0 ? 0 : (double) truePositives / (truePositives + falseNegatives);
    }

    public double f1() {
        double p = precision();
        double r = recall();
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    public double yesRatio() {
        return (double) (truePositives + falsePositives) / n;
    }
}
