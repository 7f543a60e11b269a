package io.sightline.store;

import java.util.List;

/**
 * One item of an evaluation with its results so far.
 *
 * @param leaseOwner the worker that holds it (leased) or finished it (done); null while pending
 * @param attempts   how often a worker claimed it
 * @param results    one per arm once done, in arm order; empty before
 */
public record EvaluationItemRecord(int index, String payloadJson, String imageSha256, String status,
                                   String leaseOwner, int attempts, List<EvaluationResultRecord> results) {

    EvaluationItemRecord withResults(List<EvaluationResultRecord> results) {
        return new EvaluationItemRecord(index, payloadJson, imageSha256, status, leaseOwner, attempts,
                List.copyOf(results));
    }
}
