package io.sightline.store;

import java.util.List;

/** One page of generations, newest first, and how many match in all. */
public record GenerationPage(List<StoredGeneration> items, int page, int size, long total) {
}
