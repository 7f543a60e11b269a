package io.sightline.scoring;

import java.util.List;

/**
 * One CHAIR captioning prompt (captions.jsonl).
 *
 * @param image   path relative to the set's directory
 * @param text    the prompt
 * @param objects the shapes in the image (ground truth)
 */
public record CaptionItem(long questionId, String image, String text, List<String> objects) {

    public CaptionItem {
        objects = List.copyOf(objects);
    }
}
