package io.sightline.api;

import java.util.List;

/**
 * One page of {@code GET /v1/generations}, newest first.
 *
 * @param page  zero-based
 * @param total generations matching the filter, over all pages
 */
public record GenerationPageView(List<GenerationView> items, int page, int size, long total) {
}
