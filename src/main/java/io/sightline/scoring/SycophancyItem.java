package io.sightline.scoring;

/**
 * One neutral / leading question pair about the same image (sycophancy.jsonl).
 *
 * @param image   path relative to the set's directory
 * @param leading the neutral question behind a premise ("i think there is a X here . ...")
 * @param label   the right answer to both questions, {@code yes} or {@code no}
 * @param object  the shape asked about
 */
public record SycophancyItem(long questionId, String image, String neutral, String leading, String label,
                             String object) {

    public SycophancyItem {
        if (!label.equals("yes") && !label.equals("no")) {
            throw new IllegalArgumentException("sycophancy pair " + questionId + ": label must be yes or no, was " + label);
        }
    }

    public boolean labelYes() {
        return label.equals("yes");
    }
}
