package io.sightline.api;

import io.sightline.eval.EvaluationReport;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Reports of evaluations that have ended, kept in this instance's memory, so that reading a finished evaluation does
 * not recompute bootstrap intervals over all its rows on every GET. No invalidation is needed: an ended evaluation's
 * report never changes. Its items' payloads, request and synonyms are written once at admission, and results are
 * added only while it is running (EvaluationStore#complete locks the evaluation's row FOR SHARE until the results are
 * committed, so a cancel waits for them and nothing is added after). Each instance keeps its own copy of the same
 * value. Bounded: the least recently read report goes first.
 */
final class EndedReports {

    /** A report is a few kilobytes (metrics per arm, tests per pair of arms). */
    private static final int CAPACITY = 256;

    private final Map<UUID, EvaluationReport> reports = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<UUID, EvaluationReport> eldest) {
            return size() > CAPACITY;
        }
    };

    /** The report of an ended evaluation; null when not kept. */
    synchronized EvaluationReport get(UUID evaluationId) {
        return reports.get(evaluationId);
    }

    /** Keeps the report of an evaluation that has ended (never of an open one). */
    synchronized void put(UUID evaluationId, EvaluationReport report) {
        reports.put(evaluationId, report);
    }
}
