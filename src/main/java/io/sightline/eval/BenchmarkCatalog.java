package io.sightline.eval;

import io.sightline.scoring.BenchmarkSet;
import io.sightline.scoring.Synonyms;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import tools.jackson.databind.json.JsonMapper;

/**
 * The shipped benchmark sets under one root (onnx-models/benchmarks): every directory in the shapes-v1 layout
 * offers {@code <dir>/pope-random}, {@code -popular}, {@code -adversarial}, {@code <dir>/captions},
 * {@code <dir>/sycophancy} and {@code <dir>/fine-grained}. A directory is read on first use and kept.
 */
public final class BenchmarkCatalog {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /**
     * One named set.
     *
     * @param synonyms CHAIR only: object -> the words naming it (synonyms.json); empty for the other kinds
     */
    public record Entry(String name, BenchmarkKind kind, Path dir, List<? extends Record> items,
                        Map<String, List<String>> synonyms) {
    }

    private final Path root;
    private final Map<Path, BenchmarkSet> loaded = new ConcurrentHashMap<>();

    public BenchmarkCatalog(Path root) {
        this.root = root;
    }

    /** Every set's name, sorted by directory, then in the order above. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return names;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.filter(d -> Files.isRegularFile(d.resolve("manifest.json"))).sorted().toList()) {
                String prefix = dir.getFileName() + "/";
                BenchmarkSet.POPE_SPLITS.forEach(split -> names.add(prefix + "pope-" + split));
                List.of("captions", "sycophancy", "fine-grained").forEach(set -> names.add(prefix + set));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    /** The named set, or null when there is none. */
    public Entry find(String name) {
        if (!names().contains(name)) {
            return null;
        }
        String dirName = name.substring(0, name.indexOf('/'));
        String set = name.substring(dirName.length() + 1);
        Path dir = root.resolve(dirName);
        BenchmarkSet sets = loaded.computeIfAbsent(dir, BenchmarkSet::load);
        if (set.startsWith("pope-")) {
            return new Entry(name, BenchmarkKind.POPE, dir, sets.pope().get(set.substring("pope-".length())), Map.of());
        }
        return switch (set) {
            case "captions" -> new Entry(name, BenchmarkKind.CHAIR, dir, sets.captions(), synonyms(dir));
            case "sycophancy" -> new Entry(name, BenchmarkKind.SYCOPHANCY, dir, sets.sycophancy(), Map.of());
            default -> new Entry(name, BenchmarkKind.FINE_GRAINED, dir, sets.fineGrained(), Map.of());
        };
    }

    /**
     * The object words of the first shipped caption set, i.e. the model's object vocabulary: what an uploaded chair
     * set is scored with unless it brings its own; empty when no caption set is shipped.
     */
    public Map<String, List<String>> captionSynonyms() {
        return names().stream().filter(n -> n.endsWith("/captions")).findFirst()
                .map(n -> find(n).synonyms()).orElse(Map.of());
    }

    private static Map<String, List<String>> synonyms(Path dir) {
        try {
            return synonymWords(Files.readString(dir.resolve("synonyms.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The synonyms an evaluation stored with its set (chair sets only), or null when it stored none. */
    public static Synonyms storedSynonyms(String json) {
        return json == null ? null : new Synonyms(synonymWords(json));
    }

    /** synonyms.json's content: object -> the words naming it, in the file's order. */
    public static Map<String, List<String>> synonymWords(String json) {
        Map<String, List<String>> names = new LinkedHashMap<>();
        JSON.readTree(json).properties().forEach(e -> {
            List<String> words = new ArrayList<>();
            e.getValue().forEach(w -> words.add(w.asString()));
            names.put(e.getKey(), words);
        });
        return names;
    }
}
