package io.sightline.api;

import io.sightline.store.ImageStore;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.time.Duration;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/**
 * {@code GET /v1/images/{sha256}}: a stored image's bytes (generations' uploads, evaluation items' images), to a
 * caller that can see a generation or evaluation using it; 404 otherwise, as for an unknown hash.
 */
@RestController
public class ImageController {

    private final ImageStore images;

    public ImageController(ImageStore images) {
        this.images = images;
    }

    @Operation(operationId = "getImage", summary = "An image's bytes, by SHA-256 (one of the team's generations or evaluation items)")
    @ApiResponse(responseCode = "200", description = "the stored bytes, in their media type")
    @ApiResponse(responseCode = "404", description = "not-found: no image with this SHA-256 visible to the caller's team")
    @GetMapping("/v1/images/{sha256}")
    public Mono<ResponseEntity<byte[]>> get(@PathVariable String sha256) {
        return images.find(sha256)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no image with sha256 " + sha256)))
                // the key is the content's hash, so the bytes under it never change; private, because with API
                // keys on a shared cache must not hand one team's image to another
                .map(image -> ResponseEntity.ok()
                        .contentType(MediaType.parseMediaType(image.mediaType()))
                        .cacheControl(CacheControl.maxAge(Duration.ofDays(365)).cachePrivate().immutable())
                        .body(image.bytes()));
    }
}
