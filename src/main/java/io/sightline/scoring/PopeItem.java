package io.sightline.scoring;

/**
 * One POPE question (pope-*.jsonl).
 *
 * @param image  path relative to the set's directory
 * @param label  {@code yes} (the object is in the image) or {@code no}
 * @param object the shape asked about
 */
public record PopeItem(long questionId, String image, String text, String label, String object) {

    public PopeItem {
        if (!label.equals("yes") && !label.equals("no")) {
            throw new IllegalArgumentException("POPE question " + questionId + ": label must be yes or no, was " + label);
        }
    }

    public boolean labelYes() {
        return label.equals("yes");
    }
}
