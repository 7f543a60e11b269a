package io.sightline.store;

import java.util.List;

/**
 * One item of an evaluation with its results so far.
 *
 * @param leaseOwner the worker that holds it (leased) or ended it (done, failed); null while pending
 * @param attempts   runs not handed back unrun: failed ones, ones whose lease ran out, the one in flight or done
 * @param error      the latest failed run's reason (the final one once failed); null once done
 * @param results    one per arm once done, in arm order; empty before
 */
public record EvaluationItemRecord(int index, String payloadJson, String imageSha256, String status,
                                   String leaseOwner, int attempts, String error,
                                   List<EvaluationResultRecord> results) {

    EvaluationItemRecord withResults(List<EvaluationResultRecord> results) {
        return new EvaluationItemRecord(index, payloadJson, imageSha256, status, leaseOwner, attempts, error,
                List.copyOf(results));
    }
}
