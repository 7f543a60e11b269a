package io.sightline.store;

import java.util.List;

/** One page of an evaluation's items in item order, and how many it has in all. */
public record EvaluationItemPage(List<EvaluationItemRecord> items, int page, int size, long total) {
}
