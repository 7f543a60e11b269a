package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.store.OutputRecord;
import io.sightline.store.StoredGeneration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A generation as the API shows it, built only from stored rows, so a response says exactly what the database
 * holds.
 *
 * @param request   the accepted request: effective decoding options and arm parameters
 * @param latencyMs wall-clock milliseconds of the engine call, all arms together
 */
public record GenerationView(UUID id, String status, String reason, String prompt, JsonNode request, Image image,
                             @JsonProperty("created_at") Instant createdAt,
                             @JsonProperty("started_at") Instant startedAt,
                             @JsonProperty("finished_at") Instant finishedAt,
                             @JsonProperty("latency_ms") Double latencyMs,
                             List<Output> outputs) {

    public record Image(String sha256, @JsonProperty("media_type") String mediaType, int width, int height) {
    }

    /**
     * One arm's output.
     *
     * @param logprobs per generated token, the chosen token's log-probability
     * @param latencyMs from the start of the engine call to this arm's last token
     */
    public record Output(int arm, String intervention, JsonNode params, String text, int[] tokens, JsonNode logprobs,
                         @JsonProperty("latency_ms") double latencyMs,
                         @JsonProperty("tokens_per_second") double tokensPerSecond, JsonNode scores) {
    }

    static GenerationView of(StoredGeneration g, JsonMapper json) {
        List<Output> outputs = g.outputs().stream().map(o -> output(o, json)).toList();
        return new GenerationView(g.id(), g.status(), g.reason(), g.prompt(), json.readTree(g.requestJson()),
                new Image(g.imageSha256(), g.imageMediaType(), g.imageWidth(), g.imageHeight()), g.createdAt(),
                g.startedAt(), g.finishedAt(), g.latencyMs(), outputs);
    }

    private static Output output(OutputRecord o, JsonMapper json) {
        return new Output(o.armIndex(), o.intervention(), json.readTree(o.paramsJson()), o.text(), o.tokens(),
                json.readTree(o.logprobsJson()), o.latencyMs(), o.tokensPerSecond(), json.readTree(o.scoresJson()));
    }
}
