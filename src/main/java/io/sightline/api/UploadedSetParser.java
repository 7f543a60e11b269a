package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.eval.BenchmarkCatalog;
import io.sightline.eval.BenchmarkKind;
import io.sightline.scoring.CaptionItem;
import io.sightline.scoring.PopeItem;
import io.sightline.store.ImageRecord;
import io.sightline.vision.ImagePreprocessor;
import io.sightline.vision.ImageRejectedException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Checks an uploaded set's parts and turns them into what an evaluation stores: the items in line order, the
 * synonyms CHAIR scores captions with, and the images by filename. Every problem is collected, each named by where
 * it is ({@link InvalidSetException}), so one refusal lists them all. Item lines take the shipped files' fields (POPE:
 * {@code question_id, image, text, label, object}; chair: {@code question_id, image, text, objects}); other fields
 * (the shipped captions' {@code scene}) are ignored and not stored.
 */
public final class UploadedSetParser {

    /** The kinds an upload may be; sycophancy and fine-grained sets are shipped only. */
    static final Set<BenchmarkKind> KINDS = Set.of(BenchmarkKind.POPE, BenchmarkKind.CHAIR);

    // Synonyms#mentionedObjects lowercases a caption and splits it into \w+ words: any other synonym never matches
    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);

    /**
     * @param items    in line order
     * @param synonyms chair: object -> the words naming it; empty for POPE
     * @param images   every image an item uses, by filename
     */
    record Parsed(List<Record> items, Map<String, List<String>> synonyms, Map<String, ImageRecord> images) {
    }

    /** One non-blank line: its item when every field passed, and its image name when that field did. */
    private record Line(String pointer, String image, Record item) {
    }

    private final JsonMapper json;
    private final ImagePreprocessor preprocessor;
    private final BenchmarkCatalog catalog;
    private final int maxItems;
    private final int maxPromptChars;

    public UploadedSetParser(JsonMapper json, ImagePreprocessor preprocessor, BenchmarkCatalog catalog, int maxItems,
                      int maxPromptChars) {
        this.json = json;
        this.preprocessor = preprocessor;
        this.catalog = catalog;
        this.maxItems = maxItems;
        this.maxPromptChars = maxPromptChars;
    }

    /** @throws InvalidSetException naming every problem found */
    Parsed parse(BenchmarkKind kind, UploadParts parts) {
        List<FieldError> errors = new ArrayList<>();
        Map<String, List<String>> synonyms = synonyms(kind, parts.synonyms(), errors);
        List<Line> lines = lines(kind, parts.items(), synonyms, errors);
        Map<String, ImageRecord> images = images(parts.images(), lines, errors);
        if (!errors.isEmpty()) {
            throw new InvalidSetException(errors);
        }
        return new Parsed(lines.stream().map(Line::item).toList(), synonyms, images);
    }

    private List<Line> lines(BenchmarkKind kind, byte[] items, Map<String, List<String>> synonyms,
                             List<FieldError> errors) {
        String[] text = new String(items, StandardCharsets.UTF_8).split("\n", -1);
        if (Arrays.stream(text).filter(l -> !l.isBlank()).count() > maxItems) {
            throw new InvalidSetException(UploadPartsReader.ITEMS, "more than " + maxItems
                    + " items (sightline.eval.upload.max-items)");
        }
        List<Line> lines = new ArrayList<>();
        Map<Long, String> questionIds = new HashMap<>();
        for (int n = 0; n < text.length; n++) {
            String line = text[n].strip();
            if (line.isEmpty()) {
                continue;
            }
            String pointer = UploadPartsReader.ITEMS + "[" + lines.size() + "]";
            JsonNode node = object(line, pointer, n + 1, errors);
            if (node == null) {
                lines.add(new Line(pointer, null, null));
                continue;
            }
            ItemFields f = new ItemFields(node, pointer, n + 1, errors);
            Long questionId = f.integer("question_id");
            String image = f.text("image");
            String prompt = f.text("text");
            if (prompt != null && prompt.length() > maxPromptChars) {
                f.fail("text", "at most " + maxPromptChars + " characters (sightline.limits.max-prompt-chars), was "
                        + prompt.length());
            }
            Record item = switch (kind) {
                case POPE -> {
                    String label = f.oneOf("label", List.of("yes", "no"));
                    String object = f.text("object");
                    yield f.ok() ? new PopeItem(questionId, image, prompt, label, object) : null;
                }
                case CHAIR -> {
                    List<String> objects = groundTruth(f, synonyms);
                    yield f.ok() ? new CaptionItem(questionId, image, prompt, objects) : null;
                }
                default -> throw new IllegalArgumentException("uploads are " + KINDS + ", not " + kind);
            };
            if (questionId != null) {
                String first = questionIds.putIfAbsent(questionId, pointer);
                if (first != null) {
                    f.fail("question_id", "repeats " + first + "'s, " + questionId);
                }
            }
            lines.add(new Line(pointer, image, f.ok() ? item : null));
        }
        if (lines.isEmpty()) {
            errors.add(new FieldError(UploadPartsReader.ITEMS, "has no items: send one JSON object a line"));
        }
        return lines;
    }

    private JsonNode object(String line, String pointer, int lineNumber, List<FieldError> errors) {
        try {
            JsonNode node = json.readTree(line);
            if (node.isObject()) {
                return node;
            }
            errors.add(new FieldError(pointer, "line " + lineNumber + ": must be a JSON object, was " + node));
        } catch (JacksonException e) {
            errors.add(new FieldError(pointer, "line " + lineNumber + ": not JSON: " + e.getOriginalMessage()));
        }
        return null;
    }

    /** A caption's ground-truth objects; each must be an object of the synonyms, or CHAIR could never match it. */
    private static List<String> groundTruth(ItemFields f, Map<String, List<String>> synonyms) {
        List<String> objects = f.texts("objects");
        if (objects == null || synonyms == null) {
            return objects;
        }
        for (int i = 0; i < objects.size(); i++) {
            if (!synonyms.containsKey(objects.get(i))) {
                f.fail("objects[" + i + "]", "\"" + objects.get(i) + "\" is no object of the synonyms "
                        + synonyms.keySet());
            }
        }
        return objects;
    }

    /** The set's synonyms: the part's, or the shipped caption set's; null when the part is refused. */
    private Map<String, List<String>> synonyms(BenchmarkKind kind, byte[] part, List<FieldError> errors) {
        String field = UploadPartsReader.SYNONYMS;
        if (kind != BenchmarkKind.CHAIR) {
            if (part != null) {
                errors.add(new FieldError(field, "only a chair set has synonyms"));
            }
            return Map.of();
        }
        if (part == null) {
            Map<String, List<String>> shipped = catalog.captionSynonyms();
            if (shipped.isEmpty()) {
                errors.add(new FieldError(field, "part is required: no shipped caption set to take the words from"));
                return null;
            }
            return shipped;
        }
        JsonNode tree;
        try {
            tree = json.readTree(part);
        } catch (JacksonException e) {
            errors.add(new FieldError(field, "not JSON: " + e.getOriginalMessage()));
            return null;
        }
        if (!tree.isObject() || tree.isEmpty()) {
            errors.add(new FieldError(field, "must be a non-empty JSON object: object -> the words naming it"));
            return null;
        }
        Map<String, List<String>> synonyms = new LinkedHashMap<>();
        int before = errors.size();
        tree.properties().forEach(e -> {
            List<String> words = new ArrayList<>();
            for (JsonNode w : e.getValue().isArray() ? e.getValue().values() : List.<JsonNode>of()) {
                String word = w.isString() ? w.stringValue() : "";
                if (!WORD.matcher(word).matches() || !word.equals(word.toLowerCase(Locale.ROOT))) {
                    errors.add(new FieldError(field + "." + e.getKey(), "\"" + w.asString() + "\" is not one lowercase"
                            + " word: captions are lowercased and split into words (\\w+) before they are matched"));
                }
                words.add(word);
            }
            if (words.isEmpty()) {
                errors.add(new FieldError(field + "." + e.getKey(), "must be a non-empty array of words"));
            }
            synonyms.put(e.getKey(), words);
        });
        return errors.size() == before ? synonyms : null;
    }

    /** The images the items use, each admitted by the preprocessor as the worker will run it. */
    private Map<String, ImageRecord> images(List<UploadParts.Image> parts, List<Line> lines, List<FieldError> errors) {
        Map<String, byte[]> sent = new LinkedHashMap<>();
        for (UploadParts.Image image : parts) {
            if (sent.putIfAbsent(image.filename(), image.bytes()) != null) {
                errors.add(imageError(image.filename(), "sent twice"));
            }
        }
        Set<String> used = new LinkedHashSet<>();
        for (Line line : lines) {
            if (line.image() != null) {
                used.add(line.image());
                if (!sent.containsKey(line.image())) {
                    errors.add(new FieldError(line.pointer() + ".image", "no image part has the filename \""
                            + line.image() + "\""));
                }
            }
        }
        Map<String, ImageRecord> images = new LinkedHashMap<>();
        sent.forEach((filename, bytes) -> {
            if (!used.contains(filename)) {
                errors.add(imageError(filename, "no item uses this image"));
                return;
            }
            try {
                images.put(filename, ImageRecord.of(bytes, preprocessor.prepare(bytes).header()));
            } catch (ImageRejectedException e) {
                errors.add(imageError(filename, e.code() + ": " + e.getMessage()));
            }
        });
        return images;
    }

    private static FieldError imageError(String filename, String message) {
        return new FieldError(UploadPartsReader.IMAGES + "[" + filename + "]", message);
    }
}
