package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.DecodingOptions;
import io.sightline.eval.BenchmarkCatalog;
import io.sightline.eval.BenchmarkKind;
import io.sightline.store.ImageRecord;
import io.sightline.store.NewEvaluation;
import io.sightline.vision.ImagePreprocessor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import tools.jackson.databind.json.JsonMapper;

/**
 * Admits an evaluation request, blocking (file reads, image decoding): a shipped set by name, or an uploaded one
 * ({@link UploadedSetParser}). Everything is checked before anything is stored; the result is the evaluation with
 * every item it will run and the images they need, for {@link io.sightline.store.EvaluationStore#create}.
 */
public final class EvaluationAdmission {

    /** The prefix of an uploaded set's stored name. */
    static final String UPLOADED = "upload/";
    private static final Pattern UPLOAD_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final BenchmarkCatalog catalog;
    private final UploadedSetParser uploads;
    private final DecodingAdmission decoding;
    private final ImagePreprocessor images;
    private final JsonMapper json;

    public EvaluationAdmission(BenchmarkCatalog catalog, UploadedSetParser uploads, DecodingAdmission decoding,
                               ImagePreprocessor images, JsonMapper json) {
        this.catalog = catalog;
        this.uploads = uploads;
        this.decoding = decoding;
        this.images = images;
        this.json = json;
    }

    /** @param images each image once, by SHA-256 */
    record Admitted(NewEvaluation evaluation, List<ImageRecord> images) {
    }

    /**
     * A set ready to admit, shipped or uploaded.
     *
     * @param image an item's image path (shipped: relative to the set; uploaded: a filename) to the checked image
     */
    private record ItemSet(String name, BenchmarkKind kind, List<? extends Record> items,
                           Map<String, List<String>> synonyms, Function<String, ImageRecord> image) {
    }

    /** A shipped set (the JSON body). */
    Admitted admit(EvaluationBody body) {
        List<FieldError> errors = new ArrayList<>();
        if (body.upload() != null) {
            errors.add(new FieldError("upload", "an uploaded set is sent as multipart/form-data: parts 'request' (this"
                    + " JSON), 'items' and 'images'"));
        }
        if (body.set() == null || body.set().isBlank()) {
            errors.add(new FieldError("set", "is required: a shipped set such as shapes-v1/pope-adversarial"));
        }
        if (!errors.isEmpty()) {
            errors.addAll(decoding.check(body, 1));
            throw new InvalidRequestException(errors);
        }
        BenchmarkCatalog.Entry set = catalog.find(body.set());
        if (set == null) {
            throw new UnknownSetException(body.set(), catalog.names());
        }
        Map<String, ImageRecord> byPath = new HashMap<>();
        return admit(body, new ItemSet(set.name(), set.kind(), set.items(), set.synonyms(),
                path -> byPath.computeIfAbsent(path, p -> image(set.dir().resolve(p)))));
    }

    /** An uploaded set (the multipart body); {@code body} is its parsed request part. */
    Admitted admit(EvaluationBody body, UploadParts parts) {
        List<FieldError> errors = new ArrayList<>();
        if (body.set() != null) {
            errors.add(new FieldError("set", "a multipart request uploads its set: describe it in 'upload'"));
        }
        EvaluationBody.Upload upload = body.upload();
        BenchmarkKind kind = null;
        if (upload == null) {
            errors.add(new FieldError("upload", "is required: {\"name\": ..., \"kind\": \"pope\" or \"chair\"}"));
        } else {
            if (upload.name() == null || !UPLOAD_NAME.matcher(upload.name()).matches()) {
                errors.add(new FieldError("upload.name", "must be 1..64 letters, digits, '.', '_' or '-', was "
                        + upload.name()));
            }
            kind = UploadedSetParser.KINDS.stream().filter(k -> k.code().equals(upload.kind())).findFirst().orElse(null);
            if (kind == null) {
                errors.add(new FieldError("upload.kind", "must be pope or chair, was " + upload.kind()));
            }
        }
        if (!errors.isEmpty()) {
            errors.addAll(decoding.check(body, 1));
            throw new InvalidRequestException(errors);
        }
        UploadedSetParser.Parsed set = uploads.parse(kind, parts);
        return admit(body, new ItemSet(UPLOADED + upload.name(), kind, set.items(), set.synonyms(),
                set.images()::get));
    }

    private Admitted admit(EvaluationBody body, ItemSet set) {
        List<FieldError> errors = new ArrayList<>();
        int size = set.items().size();
        int limit = body.limit() == null ? size : body.limit();
        if (limit < 1 || limit > size) {
            errors.add(new FieldError("limit", "must be in 1.." + size + " (the set's items), was " + limit));
        }
        BenchmarkKind kind = set.kind();
        errors.addAll(decoding.check(body, kind.defaultMaxNewTokens()));
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        DecodingAdmission.Bound bound = decoding.bind(body, kind.defaultMaxNewTokens(), DecodingOptions.ArmSeeds.SHARED);

        Map<String, ImageRecord> images = new LinkedHashMap<>();
        List<NewEvaluation.Item> items = new ArrayList<>();
        for (int i = 0; i < limit; i++) {
            Record item = set.items().get(i);
            ImageRecord image = set.image().apply(kind.image(item));
            images.putIfAbsent(image.sha256(), image);
            items.add(new NewEvaluation.Item(i, json.writeValueAsString(kind.payload(item)), image.sha256()));
        }
        Map<String, Object> accepted = new LinkedHashMap<>();
        accepted.put("set", set.name());
        accepted.put("limit", limit);
        accepted.putAll(bound.accepted());
        String synonyms = kind == BenchmarkKind.CHAIR ? json.writeValueAsString(set.synonyms()) : null;
        NewEvaluation evaluation = new NewEvaluation(UUID.randomUUID(), set.name(), kind.code(),
                json.writeValueAsString(accepted), synonyms, items);
        return new Admitted(evaluation, List.copyOf(images.values()));
    }

    /** A shipped image, checked as an upload would be (it is served back by /v1/images). */
    private ImageRecord image(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("benchmark image " + file, e);
        }
        return ImageRecord.of(bytes, images.prepare(bytes).header());
    }
}
