package io.sightline.api;

import java.util.List;

/**
 * One page of {@code GET /v1/evaluations}, newest first; items carry progress but no report.
 *
 * @param total evaluations over all pages
 */
public record EvaluationPageView(List<EvaluationView> items, int page, int size, long total) {
}
