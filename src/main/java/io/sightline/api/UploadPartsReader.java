package io.sightline.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.core.ResolvableType;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.codec.multipart.DefaultPartHttpMessageReader;
import org.springframework.http.codec.multipart.FilePart;
import org.springframework.http.codec.multipart.Part;
import org.springframework.http.server.reactive.ServerHttpRequest;
import reactor.core.publisher.Mono;

/**
 * Reads an uploaded set's multipart request into {@link UploadParts} under its own limits, not the server-wide
 * multipart reader's (sized for one generation's image): a body declared or found past {@code maxBytes} is refused
 * (413), and so is any part past {@code maxPartBytes} (parts are never spilled to disk); more than {@code maxImages}
 * image parts is a 422 invalid-set, and unknown, repeated or missing parts are 400s naming the part. Whatever fails,
 * nothing has been stored yet.
 */
public final class UploadPartsReader {

    static final String REQUEST = "request";
    static final String ITEMS = "items";
    static final String SYNONYMS = "synonyms";
    static final String IMAGES = "images";
    private static final String EXPECTED = "expected 'request' (JSON), 'items' (JSONL), 'images' (one file part per"
            + " image) and, for a chair set, 'synonyms'";
    private static final ResolvableType PART = ResolvableType.forClass(Part.class);

    private final DefaultPartHttpMessageReader reader = new DefaultPartHttpMessageReader();
    private final int maxImages;
    private final long maxPartBytes;
    private final long maxBytes;

    public UploadPartsReader(int maxImages, long maxPartBytes, long maxBytes) {
        this.maxImages = maxImages;
        this.maxPartBytes = maxPartBytes;
        this.maxBytes = maxBytes;
        reader.setMaxInMemorySize((int) Math.min(Integer.MAX_VALUE - 8, maxPartBytes));
        reader.setMaxDiskUsagePerPart(0);
        // the three named parts and one image part past the limit, which read() refuses by name first
        reader.setMaxParts(maxImages + 4);
    }

    Mono<UploadParts> read(ServerHttpRequest request) {
        if (request.getHeaders().getContentLength() > maxBytes) {
            return Mono.error(tooLarge());
        }
        Assembly parts = new Assembly();
        return reader.read(PART, request, Map.of())
                // a part past the in-memory size reads "Part exceeded the disk usage limit of 0 bytes": say which limit
                .onErrorMap(e -> e instanceof DataBufferLimitException && e.getMessage().startsWith("Part exceeded"),
                        e -> new DataBufferLimitException("a part is larger than sightline.eval.upload.max-part-bytes ("
                                + maxPartBytes + " bytes)"))
                // one part at a time (prefetch 1): the parser reads ahead by demand, so memory stays near the limits
                .concatMap(part -> GenerationRequestParser.bytes(part.content(), -1)
                        .doOnNext(bytes -> parts.add(part, bytes)), 1)
                .then(Mono.fromCallable(parts::build));
    }

    private DataBufferLimitException tooLarge() {
        return new DataBufferLimitException("the upload is larger than sightline.eval.upload.max-bytes (" + maxBytes
                + " bytes)");
    }

    /** The parts as they arrive, checked by name. */
    private final class Assembly {

        private byte[] request;
        private byte[] items;
        private byte[] synonyms;
        private final List<UploadParts.Image> images = new ArrayList<>();

        private long bytes;

        void add(Part part, byte[] content) {
            // counted as the parts arrive (a chunked body declares no length)
            bytes += content.length;
            if (bytes > maxBytes) {
                throw tooLarge();
            }
            switch (part.name()) {
                case REQUEST -> request = once(REQUEST, request, content);
                case ITEMS -> items = once(ITEMS, items, content);
                case SYNONYMS -> synonyms = once(SYNONYMS, synonyms, content);
                case IMAGES -> {
                    if (!(part instanceof FilePart file) || file.filename().isBlank()) {
                        throw new InvalidRequestException(IMAGES, "each image is a file part whose filename is what"
                                + " the items' image field names it by");
                    }
                    if (images.size() == maxImages) {
                        throw new InvalidSetException(IMAGES, "more than " + maxImages
                                + " images (sightline.eval.upload.max-images)");
                    }
                    images.add(new UploadParts.Image(file.filename(), content));
                }
                default -> throw new InvalidRequestException(part.name(), "unknown part; " + EXPECTED);
            }
        }

        private static byte[] once(String name, byte[] before, byte[] bytes) {
            if (before != null) {
                throw new InvalidRequestException(name, "sent twice; send one '" + name + "' part");
            }
            return bytes;
        }

        UploadParts build() {
            if (request == null || items == null) {
                throw new InvalidRequestException(request == null ? REQUEST : ITEMS, "part is required; " + EXPECTED);
            }
            return new UploadParts(request, items, synonyms, List.copyOf(images));
        }
    }
}
