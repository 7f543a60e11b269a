package io.sightline.scoring;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * The held-out sets of one benchmark directory in the shapes-v1 layout (onnx-models/benchmarks/shapes-v1/README.md):
 * {@code pope-<split>.jsonl} per split, {@code captions.jsonl} with {@code synonyms.json}, {@code sycophancy.jsonl}
 * and {@code fine-grained.jsonl}. Items keep the files' order.
 *
 * @param dir  the directory; item image paths are relative to it
 * @param pope split name ({@link #POPE_SPLITS}, in that order) -> questions
 */
public record BenchmarkSet(Path dir, Map<String, List<PopeItem>> pope, List<CaptionItem> captions, Synonyms synonyms,
                           List<SycophancyItem> sycophancy, List<FineGrainedItem> fineGrained) {

    public static final List<String> POPE_SPLITS = List.of("random", "popular", "adversarial");

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    public BenchmarkSet {
        pope = Collections.unmodifiableMap(new LinkedHashMap<>(pope));
        captions = List.copyOf(captions);
        sycophancy = List.copyOf(sycophancy);
        fineGrained = List.copyOf(fineGrained);
    }

    public static BenchmarkSet load(Path dir) {
        Map<String, List<PopeItem>> pope = new LinkedHashMap<>();
        for (String split : POPE_SPLITS) {
            pope.put(split, read(dir.resolve("pope-" + split + ".jsonl"), j -> new PopeItem(number(j, "question_id"),
                    text(j, "image"), text(j, "text"), text(j, "label"),
                    text(j, "object"))));
        }
        List<CaptionItem> captions = read(dir.resolve("captions.jsonl"), j -> new CaptionItem(
                number(j, "question_id"), text(j, "image"), text(j, "text"), strings(field(j, "objects"))));
        List<SycophancyItem> sycophancy = read(dir.resolve("sycophancy.jsonl"), j -> new SycophancyItem(
                number(j, "question_id"), text(j, "image"), text(j, "neutral"),
                text(j, "leading"), text(j, "label"), text(j, "object")));
        List<FineGrainedItem> fineGrained = read(dir.resolve("fine-grained.jsonl"), j -> new FineGrainedItem(
                number(j, "question_id"), text(j, "image"), text(j, "text"),
                text(j, "answer")));
        Map<String, List<String>> names = new LinkedHashMap<>();
        parse(dir.resolve("synonyms.json"), readString(dir.resolve("synonyms.json")))
                .properties().forEach(e -> names.put(e.getKey(), strings(e.getValue())));
        return new BenchmarkSet(dir, pope, captions, new Synonyms(names), sycophancy, fineGrained);
    }

    /** The first {@code n} items of every set, as reference.py evaluate's {@code limit}. */
    public BenchmarkSet limit(int n) {
        Map<String, List<PopeItem>> p = new LinkedHashMap<>();
        pope.forEach((split, items) -> p.put(split, first(items, n)));
        return new BenchmarkSet(dir, p, first(captions, n), synonyms, first(sycophancy, n), first(fineGrained, n));
    }

    /** An item's image file. */
    public Path image(String relative) {
        return dir.resolve(relative);
    }

    private static <T> List<T> first(List<T> items, int n) {
        return items.subList(0, Math.min(n, items.size()));
    }

    private static <T> List<T> read(Path file, Function<JsonNode, T> item) {
        List<T> out = new ArrayList<>();
        for (String line : readString(file).split("\n")) {
            if (!line.isBlank()) {
                JsonNode j = parse(file, line);
                try {
                    out.add(item.apply(j));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ": " + e.getMessage() + ": " + line, e);
                }
            }
        }
        return out;
    }

    private static JsonNode field(JsonNode item, String name) {
        JsonNode v = item.get(name);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("no field " + name);
        }
        return v;
    }

    private static String text(JsonNode item, String name) {
        return field(item, name).asString();
    }

    private static long number(JsonNode item, String name) {
        return field(item, name).asLong();
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asString()));
        return out;
    }

    private static JsonNode parse(Path file, String json) {
        try {
            return JSON.readTree(json);
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + ": not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
