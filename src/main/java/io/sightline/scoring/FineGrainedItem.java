package io.sightline.scoring;

/**
 * One question about a small or low-contrast object (fine-grained.jsonl).
 *
 * @param image  path relative to the set's directory
 * @param answer the expected answer, matched exactly (after trimming the model's answer)
 */
public record FineGrainedItem(long questionId, String image, String text, String answer) {
}
