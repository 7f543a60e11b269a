package io.sightline.store;

import java.util.List;

/** One page of evaluations, newest first, and how many there are in all. */
public record EvaluationPage(List<StoredEvaluation> items, int page, int size, long total) {
}
