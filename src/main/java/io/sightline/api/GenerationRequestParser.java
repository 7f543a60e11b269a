package io.sightline.api;

import io.sightline.vision.ImageLimits;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.reactivestreams.Publisher;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.codec.multipart.Part;
import org.springframework.util.MultiValueMap;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.type.LogicalType;

/**
 * Bytes on the wire to a {@link GenerationBody} and the image bytes, for both request shapes. Parsing is strict
 * (unknown fields, strings for numbers and trailing data are errors) and sizes are bounded while reading, so an
 * oversized upload is refused before it is held in memory whole.
 */
public final class GenerationRequestParser {

    /** Budget for everything in a request that is not the image: prompt, options, arms. */
    static final int MAX_REQUEST_JSON_BYTES = 256 * 1024;

    private static final Set<String> PART_NAMES = Set.of("image", "request");
    private static final Pattern DATA_URL = Pattern.compile("^data:[\\w.+-]+/[\\w.+-]+;base64,");

    /** The parsed request: its JSON fields and the encoded image. */
    public record Parsed(GenerationBody body, byte[] image) {
    }

    private final JsonMapper json;
    private final ImageLimits limits;

    public GenerationRequestParser(JsonMapper json, ImageLimits limits) {
        this.json = json.rebuild()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                // that feature leaves numbers and booleans read as strings ({"prompt": 5} became "5")
                .withCoercionConfig(LogicalType.Textual, text -> text
                        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
                .build();
        this.limits = limits;
    }

    /** Largest JSON body accepted: the image limit after base64 plus the non-image budget. */
    public int maxJsonBytes() {
        return (int) Math.min(Integer.MAX_VALUE - 8, 4 * ((limits.maxBytes() + 2) / 3) + MAX_REQUEST_JSON_BYTES);
    }

    public Mono<Parsed> fromJson(byte[] body) {
        return Mono.fromCallable(() -> {
            GenerationBody parsed = read(body, GenerationBody.class);
            if (parsed.image() == null) {
                throw new InvalidRequestException("image", "is required: base64 of a PNG, JPEG or WebP, or a data: URL");
            }
            return new Parsed(parsed, base64(parsed.image(), "image"));
        });
    }

    public Mono<Parsed> fromMultipart(MultiValueMap<String, Part> parts) {
        for (String name : parts.keySet()) {
            if (!PART_NAMES.contains(name)) {
                return Mono.error(new InvalidRequestException(name, "unknown part; expected 'image' and 'request'"));
            }
        }
        Part image = single(parts, "image");
        Part request = single(parts, "request");
        if (image == null || request == null) {
            return Mono.error(new InvalidRequestException(image == null ? "image" : "request",
                    "exactly one part is required (multipart: an 'image' file part and a 'request' JSON part)"));
        }
        Mono<byte[]> imageBytes = bytes(image, limits.maxBytes());
        Mono<GenerationBody> body = bytes(request, MAX_REQUEST_JSON_BYTES).map(b -> {
            GenerationBody parsed = read(b, GenerationBody.class);
            if (parsed.image() != null) {
                throw new InvalidRequestException("image", "send the image as the 'image' part, not inside 'request'");
            }
            return parsed;
        });
        return Mono.zip(body, imageBytes).map(t -> new Parsed(t.getT1(), t.getT2()));
    }

    private static Part single(MultiValueMap<String, Part> parts, String name) {
        List<Part> found = parts.get(name);
        return found == null || found.size() != 1 ? null : found.get(0);
    }

    // One byte over the limit is enough to know the part is too large; ImageLimits then reports it as 413.
    private static Mono<byte[]> bytes(Part part, long limit) {
        return bytes(part.content(), (int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
    }

    /**
     * A request body or part as one array, the buffers released; empty content is an empty array.
     *
     * @param maxBytes past it the read fails with DataBufferLimitException (413); -1 for no limit here
     */
    static Mono<byte[]> bytes(Publisher<? extends DataBuffer> content, int maxBytes) {
        return DataBufferUtils.join(content, maxBytes)
                .map(GenerationRequestParser::drain)
                .defaultIfEmpty(new byte[0]);
    }

    static byte[] drain(DataBuffer buffer) {
        try {
            byte[] out = new byte[buffer.readableByteCount()];
            buffer.read(out);
            return out;
        } finally {
            DataBufferUtils.release(buffer);
        }
    }

    /** Strict JSON to {@code type}; errors name the offending field by its JSON path. */
    <T> T read(byte[] body, Class<T> type) {
        if (body.length == 0) {
            throw new InvalidRequestException("body", "is empty; expected a JSON object");
        }
        try {
            T parsed = json.readValue(body, type);
            if (parsed == null) {
                throw new InvalidRequestException("body", "expected a JSON object, got null");
            }
            return parsed;
        } catch (JacksonException e) {
            throw new InvalidRequestException(path(e), e.getOriginalMessage());
        }
    }

    private static String path(JacksonException e) {
        StringBuilder out = new StringBuilder();
        for (JacksonException.Reference ref : e.getPath()) {
            if (ref.getPropertyName() != null) {
                out.append(out.isEmpty() ? "" : ".").append(ref.getPropertyName());
            } else if (ref.getIndex() >= 0) {
                out.append('[').append(ref.getIndex()).append(']');
            }
        }
        return out.isEmpty() ? "body" : out.toString();
    }

    /** Base64 or a base64 {@code data:} URL to bytes, bounded by the image limit; {@code field} names it in errors. */
    byte[] base64(String value, String field) {
        String data = DATA_URL.matcher(value).replaceFirst("");
        // checked on the encoded length, so a huge string is refused before it is decoded
        long padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
        limits.checkLength(data.length() / 4L * 3 - padding);
        try {
            return Base64.getDecoder().decode(data.getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(field, "is not valid base64: " + e.getMessage());
        }
    }
}
