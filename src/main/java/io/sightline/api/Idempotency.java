package io.sightline.api;

import io.sightline.store.IdempotencyStore;
import io.sightline.store.ImageRecord;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;
import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpRequest;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code Idempotency-Key} for any POST that creates something (IETF draft-ietf-httpapi-idempotency-key-header): the
 * first request with a key runs and, if it succeeds, its status, Location and body are stored; a repeat with the same
 * key and the same request gets that response again (header {@code Idempotent-Replayed: true}) without running; the
 * same key with another request is 422 idempotency-key-reused; a repeat while the first still runs is 409
 * idempotency-key-in-use with Retry-After. A request that fails (refused, overloaded, engine failure, client gone)
 * releases its key, so the client's retry runs. Keys belong to the caller's team and expire after
 * {@code sightline.idempotency.ttl}.
 */
public final class Idempotency {

    public static final String HEADER = "Idempotency-Key";
    public static final String REPLAYED = "Idempotent-Replayed";
    static final int MAX_KEY_CHARS = 255;

    private final IdempotencyStore store;
    private final JsonMapper json;
    private final Duration ttl;

    public Idempotency(IdempotencyStore store, JsonMapper json, Duration ttl) {
        this.store = store;
        this.json = json;
        this.ttl = ttl;
    }

    /**
     * Runs {@code operation} once per key; without the header, simply runs it.
     *
     * @param request the request, for its key and endpoint (method and path)
     * @param type    the body type of the operation's response, to read a stored one back
     * @param content what makes two requests the same (the parsed body and the image bytes, say), hashed together
     */
    public <T> Mono<ResponseEntity<T>> once(ServerHttpRequest request, Class<T> type, byte[][] content,
                                            Supplier<Mono<ResponseEntity<T>>> operation) {
        String key = request.getHeaders().getFirst(HEADER);
        if (key == null) {
            return operation.get();
        }
        if (key.isEmpty() || key.length() > MAX_KEY_CHARS || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            return Mono.error(new InvalidRequestException(HEADER,
                    "must be 1.." + MAX_KEY_CHARS + " visible ASCII characters (a UUID, say)"));
        }
        String endpoint = request.getMethod() + " " + request.getPath().value();
        return store.claim(endpoint, key, sha256(content), ttl).flatMap(claim -> {
            if (claim instanceof IdempotencyStore.Stored stored) {
                return Mono.just(replay(stored, type));
            }
            if (claim instanceof IdempotencyStore.InProgress) {
                return Mono.error(new RefusedRequestException(ProblemType.IDEMPOTENCY_KEY_IN_USE, HEADER,
                        "a request with this key is still running; retry later"));
            }
            if (claim instanceof IdempotencyStore.OtherRequest) {
                return Mono.error(new RefusedRequestException(ProblemType.IDEMPOTENCY_KEY_REUSED, HEADER,
                        "this key was used with a different request"));
            }
            return run(endpoint, key, operation);
        });
    }

    private <T> Mono<ResponseEntity<T>> run(String endpoint, String key, Supplier<Mono<ResponseEntity<T>>> operation) {
        Mono<Void> release = store.release(endpoint, key);
        return operation.get()
                .flatMap(response -> response.getStatusCode().is2xxSuccessful()
                        ? store.complete(endpoint, key, response.getStatusCode().value(), location(response),
                                json.writeValueAsString(response.getBody())).thenReturn(response)
                        : release.thenReturn(response))
                .onErrorResume(e -> release.then(Mono.error(e)))
                .doOnCancel(release::subscribe);
    }

    private <T> ResponseEntity<T> replay(IdempotencyStore.Stored stored, Class<T> type) {
        ResponseEntity.BodyBuilder response = ResponseEntity.status(stored.status()).header(REPLAYED, "true");
        if (stored.location() != null) {
            response.location(URI.create(stored.location()));
        }
        return response.body(json.readValue(stored.responseJson(), type));
    }

    private static String location(ResponseEntity<?> response) {
        URI location = response.getHeaders().getLocation();
        return location == null ? null : location.toString();
    }

    /** The hash of the parts' hashes, so that moving bytes from one part to the next changes it. */
    private static String sha256(byte[][] parts) {
        StringBuilder hashes = new StringBuilder();
        for (byte[] part : parts) {
            hashes.append(ImageRecord.sha256(part)).append('\n');
        }
        return ImageRecord.sha256(hashes.toString().getBytes(StandardCharsets.US_ASCII));
    }
}
