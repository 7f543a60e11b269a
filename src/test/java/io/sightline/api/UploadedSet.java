package io.sightline.api;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.HttpEntity;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.util.MultiValueMap;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A multipart upload of a benchmark set for tests, built from the shipped shapes-v1 files: the first lines of a
 * shipped JSONL file with each image field cut to its file name, and those images as file parts under that name.
 * Every part can be changed before {@link #parts()} builds the body.
 */
final class UploadedSet {

    static final Path SHIPPED = Path.of("onnx-models/benchmarks/shapes-v1");

    final Map<String, Object> request = new LinkedHashMap<>();
    final List<ObjectNode> lines = new ArrayList<>();
    /** filename -> bytes, in part order */
    final Map<String, byte[]> images = new LinkedHashMap<>();
    /** the items part as sent; null: the lines as JSONL */
    byte[] items;
    byte[] synonyms;
    /** more image file parts after {@link #images}, a filename again say */
    final List<Map.Entry<String, byte[]>> moreImages = new ArrayList<>();
    /** more parts without a filename: name -> bytes */
    final Map<String, byte[]> extra = new LinkedHashMap<>();

    private final JsonMapper json;

    /** The first {@code n} lines of {@code file} (e.g. pope-adversarial.jsonl) as a set of {@code kind}. */
    UploadedSet(JsonMapper json, String name, String kind, String file, int n) {
        this.json = json;
        request.put("upload", Map.of("name", name, "kind", kind));
        String[] text = read(SHIPPED.resolve(file)).split("\n");
        for (int i = 0; i < n; i++) {
            ObjectNode line = (ObjectNode) json.readTree(text[i]);
            String image = Path.of(line.get("image").asString()).getFileName().toString();
            line.put("image", image);
            lines.add(line);
            images.computeIfAbsent(image, f -> bytes(SHIPPED.resolve("images").resolve(f)));
        }
    }

    UploadedSet arms(List<Map<String, Object>> arms) {
        request.put("arms", arms);
        return this;
    }

    byte[] jsonl() {
        StringBuilder out = new StringBuilder();
        lines.forEach(l -> out.append(json.writeValueAsString(l)).append('\n'));
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    MultiValueMap<String, HttpEntity<?>> parts() {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("request", json.writeValueAsString(request), MediaType.APPLICATION_JSON);
        parts.part("items", file(items == null ? jsonl() : items, "items.jsonl"));
        if (synonyms != null) {
            parts.part("synonyms", synonyms, MediaType.APPLICATION_JSON);
        }
        images.forEach((filename, bytes) -> parts.part("images", file(bytes, filename)));
        moreImages.forEach(e -> parts.part("images", file(e.getValue(), e.getKey())));
        extra.forEach(parts::part);
        return parts.build();
    }

    /** The same picture in other bytes (so stored apart from the shipped one): a PNG with one pixel changed. */
    static byte[] recoloured(byte[] png) {
        try {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
            image.setRGB(0, 0, image.getRGB(0, 0) ^ 1);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(Path file) {
        return new String(bytes(file), StandardCharsets.UTF_8);
    }

    private static ByteArrayResource file(byte[] bytes, String filename) {
        return new ByteArrayResource(bytes) {
            @Override
            public String getFilename() {
                return filename;
            }
        };
    }
}
