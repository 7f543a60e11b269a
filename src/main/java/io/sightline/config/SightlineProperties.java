package io.sightline.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Everything under {@code sightline.*}. Copied onto the plain engine and vision records in
 * {@link SightlineConfiguration}; nothing below {@code config/} sees this class.
 *
 * @param model  which exported model directory to serve
 * @param engine how inference runs
 * @param limits      what a request may contain
 * @param eval        benchmark evaluations: where the shipped sets are and how this instance's worker runs
 * @param instance    how instances tell each other they are alive
 * @param idempotency how long an {@code Idempotency-Key} is remembered
 * @param auth        API keys per team
 */
@Validated
@ConfigurationProperties("sightline")
public record SightlineProperties(@Valid @DefaultValue Model model, @Valid @DefaultValue Engine engine,
                                  @Valid @DefaultValue Limits limits, @Valid @DefaultValue Eval eval,
                                  @Valid @DefaultValue Instance instance, @Valid @DefaultValue Idempotency idempotency,
                                  @Valid @DefaultValue Auth auth) {

    /**
     * @param path directory holding model.json, the three graphs and tokenizer.json (relative to the working
     *             directory)
     */
    public record Model(@NotNull @DefaultValue("onnx-models/shapes-vlm") Path path) {
    }

    /**
     * @param executionProvider {@code cpu} or {@code cuda} (needs the {@code -Pgpu} build)
     * @param intraOpThreads    threads per ONNX Runtime call; 0 lets the runtime choose
     * @param maxBatchRows      rows decoding together in the one decode batch (each arm is a row, plus its
     *                          intervention's branch rows); a request that does not fit waits for rows to leave
     * @param queueCapacity     requests waiting to join the batch (from before their image is decoded); beyond
     *                          that requests get 429
     * @param prefillThreads    threads that prefill newcomers (vision and prompt) while the batch decodes
     * @param requestTimeout    a generation not finished this long after it was queued is cancelled and stored as
     *                          failed; the default and upper bound of a request's {@code timeout_ms}
     */
    public record Engine(@Pattern(regexp = "cpu|cuda") @DefaultValue("cpu") String executionProvider,
                         @Min(0) @DefaultValue("0") int intraOpThreads,
                         @Min(1) @Max(1024) @DefaultValue("32") int maxBatchRows,
                         @Min(1) @DefaultValue("16") int queueCapacity,
                         @Min(1) @Max(64) @DefaultValue("1") int prefillThreads,
                         @NotNull @DefaultValue("60s") Duration requestTimeout) {
    }

    /**
     * @param maxImageBytes  encoded image size at most (413 above)
     * @param maxImagePixels width x height declared by the image header at most (422 above)
     * @param maxPromptChars prompt length at most, in UTF-16 chars
     * @param maxNewTokens   largest {@code max_new_tokens} a request may ask for
     * @param maxArms        arms per request at most
     */
    public record Limits(@NotNull @DefaultValue("10MB") DataSize maxImageBytes,
                         @Min(1) @DefaultValue("16777216") long maxImagePixels,
                         @Min(1) @DefaultValue("2000") int maxPromptChars,
                         @Min(1) @Max(1024) @DefaultValue("256") int maxNewTokens,
                         @Min(1) @Max(16) @DefaultValue("8") int maxArms) {
    }

    /**
     * @param benchmarks   directory of shipped benchmark sets ({@code <dir>/manifest.json} each)
     * @param enabled      whether this instance runs an evaluation worker (the API works either way)
     * @param batchSize    items a worker claims and runs in one engine call
     * @param lease        how long a claimed item stays with its worker without renewal; a crashed instance's
     *                     items are claimable again after it
     * @param pollInterval the worker's wait after finding nothing to claim
     * @param maxAttempts  failed runs (or leases that ran out) after which an item is failed for good; an
     *                     evaluation with a failed item ends failed, its report over the items that are done
     * @param upload       what an uploaded set (multipart {@code POST /v1/evaluations}) may hold
     */
    public record Eval(@NotNull @DefaultValue("onnx-models/benchmarks") Path benchmarks,
                       @DefaultValue("true") boolean enabled,
                       @Min(1) @Max(256) @DefaultValue("8") int batchSize,
                       @NotNull @DefaultValue("60s") Duration lease,
                       @NotNull @DefaultValue("1s") Duration pollInterval,
                       @Min(1) @Max(100) @DefaultValue("3") int maxAttempts,
                       @Valid @DefaultValue Upload upload) {
    }

    /**
     * Bounds of an uploaded set; the whole request is held in memory while it is checked.
     *
     * @param maxItems     lines of the items part
     * @param maxImages    image parts
     * @param maxPartBytes any one part (an image is also held to {@code limits.max-image-bytes})
     * @param maxBytes     the whole request body
     */
    public record Upload(@Min(1) @DefaultValue("10000") int maxItems,
                         @Min(1) @Max(100000) @DefaultValue("2000") int maxImages,
                         @NotNull @DefaultValue("10MB") DataSize maxPartBytes,
                         @NotNull @DefaultValue("100MB") DataSize maxBytes) {
    }

    /**
     * @param heartbeatInterval how often this instance writes its heartbeat (and looks for dead instances)
     * @param staleAfter        an instance silent this long is dead: its running generations are stored as failed.
     *                          Longer than any pause an instance may survive (GC, a slow database), or live
     *                          generations get failed under it
     */
    public record Instance(@NotNull @DefaultValue("10s") Duration heartbeatInterval,
                           @NotNull @DefaultValue("60s") Duration staleAfter) {
    }

    /**
     * @param ttl how long a key and its stored response are kept; a repeat after that runs again
     */
    public record Idempotency(@NotNull @DefaultValue("24h") Duration ttl) {
    }

    /**
     * @param enabled  team API keys required on /v1 (the Helm chart turns this on); off, every caller sees everything
     * @param adminKey the key of {@code /v1/admin} (env {@code SIGHTLINE_AUTH_ADMIN_KEY}); empty: no admin endpoints
     */
    public record Auth(@DefaultValue("false") boolean enabled, @DefaultValue("") String adminKey) {
    }
}
