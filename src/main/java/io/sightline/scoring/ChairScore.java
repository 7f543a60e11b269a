package io.sightline.scoring;

import java.util.List;

/**
 * CHAIR over captions, as reference.py chair_metrics: CHAIR_S = share of captions that mention at least one object
 * absent from the image; CHAIR_I = absent mentions / all object mentions (0 when nothing is mentioned).
 */
public record ChairScore(int n, int hallucinatedCaptions, int mentions, int hallucinatedMentions) {

    /** One scored caption: how many object words it has and how many of them name an absent object. */
    public record Outcome(int mentions, int hallucinated) {

        public static Outcome of(CaptionItem item, String caption, Synonyms synonyms) {
            List<String> mentioned = synonyms.mentionedObjects(caption);
            int absent = (int) mentioned.stream().filter(o -> !item.objects().contains(o)).count();
            return new Outcome(mentioned.size(), absent);
        }
    }

    public static ChairScore of(List<Outcome> outcomes) {
        int captions = 0;
        int mentions = 0;
        int hallucinated = 0;
        for (Outcome o : outcomes) {
            mentions += o.mentions();
            hallucinated += o.hallucinated();
            captions += o.hallucinated() > 0 ? 1 : 0;
        }
        return new ChairScore(outcomes.size(), captions, mentions, hallucinated);
    }

    public double chairS() {
        return (double) hallucinatedCaptions / n;
    }

    public double chairI() {
        return mentions == 0 ? 0 : (double) hallucinatedMentions / mentions;
    }
}
