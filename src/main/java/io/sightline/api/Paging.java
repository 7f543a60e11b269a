package io.sightline.api;

import java.util.UUID;
import reactor.core.publisher.Mono;

/** The page, size and id checks every list and fetch endpoint shares. */
final class Paging {

    static final int MAX_PAGE_SIZE = 100;
    static final int MAX_PAGE = 100_000;

    private Paging() {
    }

    /** Empty when page and size are in range, else a 400 naming the field. */
    static Mono<Void> check(int page, int size) {
        if (page < 0 || page > MAX_PAGE) {
            return Mono.error(new InvalidRequestException("page", "must be in 0.." + MAX_PAGE + ", was " + page));
        }
        if (size < 1 || size > MAX_PAGE_SIZE) {
            return Mono.error(new InvalidRequestException("size", "must be in 1.." + MAX_PAGE_SIZE + ", was " + size));
        }
        return Mono.empty();
    }

    /** The id as a UUID; a malformed one names no resource, so it is a 404 like an unknown one. */
    static Mono<UUID> id(String id, String what) {
        try {
            return Mono.just(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return Mono.error(new NotFoundException("no " + what + " with id " + id));
        }
    }
}
