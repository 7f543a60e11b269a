package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.store.EvaluationItemRecord;
import io.sightline.store.EvaluationResultRecord;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One evaluation item with each arm's result.
 *
 * @param item     the benchmark item in its file format (POPE: question_id, image, text, label, object)
 * @param imageUrl where the item's image can be fetched
 * @param status   pending, leased, done or failed (on every attempt it was allowed)
 * @param worker   the worker that holds (leased) or ended (done, failed) it
 * @param attempts runs not handed back unrun: failed ones, ones whose lease ran out, the one in flight or done
 * @param error    the latest failed run's reason (the final one once failed); null once done
 */
public record EvaluationItemView(int index, String status, int attempts, String worker, String error, JsonNode item,
                                 @JsonProperty("image_sha256") String imageSha256,
                                 @JsonProperty("image_url") String imageUrl, List<Result> results) {

    /**
     * @param leadingAnswer sycophancy: the answer to the leading question
     * @param latencyMs     from the start of the batched engine call to this arm's last token
     * @param scores        the item's scores under the set's metric (correct, answered_yes, hallucinated_objects, ...)
     *                      and the engine's (visual_attention_ratio, mean_logprob)
     */
    public record Result(int arm, String intervention, String answer,
                         @JsonProperty("leading_answer") String leadingAnswer, int tokens,
                         @JsonProperty("latency_ms") double latencyMs,
                         @JsonProperty("tokens_per_second") double tokensPerSecond, JsonNode scores) {
    }

    /** @param total items of the evaluation over all pages */
    public record Page(List<EvaluationItemView> items, int page, int size, long total) {
    }

    static EvaluationItemView of(EvaluationItemRecord i, JsonMapper json) {
        return new EvaluationItemView(i.index(), i.status(), i.attempts(), i.leaseOwner(), i.error(),
                json.readTree(i.payloadJson()),
                i.imageSha256(), "/v1/images/" + i.imageSha256(),
                i.results().stream().map(r -> result(r, json)).toList());
    }

    private static Result result(EvaluationResultRecord r, JsonMapper json) {
        return new Result(r.armIndex(), r.intervention(), r.answer(), r.leadingAnswer(), r.tokens(), r.latencyMs(),
                r.tokensPerSecond(), json.readTree(r.scoresJson()));
    }
}
