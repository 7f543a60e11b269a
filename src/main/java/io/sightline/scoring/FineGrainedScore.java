package io.sightline.scoring;

import java.util.List;

/** Fine-grained accuracy as reference.py evaluate: the stripped answer equals the expected one exactly. */
public record FineGrainedScore(int n, int correct) {

    public static boolean isCorrect(FineGrainedItem item, String answer) {
        return answer.strip().equals(item.answer());
    }

    /** @param outcomes per question, whether it was answered correctly */
    public static FineGrainedScore of(List<Boolean> outcomes) {
        return new FineGrainedScore(outcomes.size(), (int) outcomes.stream().filter(c -> c).count());
    }

    public double accuracy() {
        return (double) correct / n;
    }
}
