package io.sightline.api;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The parts of a multipart {@code POST /v1/evaluations}, as sent.
 *
 * @param request  the {@code request} part: the JSON body, with {@code upload} instead of {@code set}
 * @param items    the {@code items} part: JSONL, one item a line
 * @param synonyms the optional {@code synonyms} part (chair sets): object -> the words naming it; null when absent
 * @param images   the {@code images} file parts in the order sent
 */
record UploadParts(byte[] request, byte[] items, byte[] synonyms, List<Image> images) {

    /** @param filename what the items' {@code image} field names it by */
    record Image(String filename, byte[] bytes) {
    }

    /**
     * What makes two uploads the same for {@link Idempotency}: the parsed body, the items, the synonyms and every
     * image with its filename, in filename order (the order of parts carries no meaning).
     */
    byte[][] fingerprint(byte[] body) {
        List<byte[]> content = new ArrayList<>(List.of(body, items, synonyms == null ? new byte[0] : synonyms));
        images.stream().sorted(Comparator.comparing(Image::filename)).forEach(i -> {
            content.add(i.filename().getBytes(StandardCharsets.UTF_8));
            content.add(i.bytes());
        });
        return content.toArray(byte[][]::new);
    }
}
