package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * The OpenAI Chat Completions response shapes: {@code chat.completion}, {@code chat.completion.chunk} and
 * {@code /v1/models}, plus the extension {@code sightline}. Fields OpenAI always sends stay present when null
 * ({@code finish_reason}, {@code logprobs}); the extension and per-chunk usage are left out when absent.
 */
final class ChatCompletionResponse {

    private ChatCompletionResponse() {
    }

    record Completion(String id, String object, long created, String model, List<Choice> choices, Usage usage,
                      Sightline sightline) {
        Completion(String id, long created, String model, List<Choice> choices, Usage usage, Sightline sightline) {
            this(id, "chat.completion", created, model, choices, usage, sightline);
        }
    }

    record Choice(int index, Message message, Logprobs logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    // its own name in the OpenAPI document, where the request's message is ChatRequestMessage
    @Schema(name = "ChatResponseMessage")
    record Message(String role, String content, String refusal) {
        static Message assistant(String content) {
            return new Message("assistant", content, null);
        }
    }

    /** @param content one entry per generated token, in order */
    record Logprobs(List<TokenLogprob> content, List<TokenLogprob> refusal) {
        Logprobs(List<TokenLogprob> content) {
            this(content, null);
        }
    }

    /**
     * @param token       the token's text as it extends the content (with its leading space), so the tokens
     *                    concatenate to the content
     * @param bytes       the UTF-8 bytes of {@code token}
     * @param topLogprobs the request's {@code top_logprobs} most probable tokens of this step, most probable first
     */
    record TokenLogprob(String token, double logprob, int[] bytes,
                        @JsonProperty("top_logprobs") List<TopLogprob> topLogprobs) {
    }

    /** @param token the text this token would have added to the content at this step */
    record TopLogprob(String token, double logprob, int[] bytes) {
    }

    record Usage(@JsonProperty("prompt_tokens") int promptTokens,
                 @JsonProperty("completion_tokens") int completionTokens,
                 @JsonProperty("total_tokens") int totalTokens) {
        Usage(int promptTokens, int completionTokens) {
            this(promptTokens, completionTokens, promptTokens + completionTokens);
        }
    }

    /**
     * Where the call is stored and how it scored.
     *
     * @param intervention the arms' method, {@code params} its effective parameters (request over defaults)
     * @param scores       per-output scores; every choice has the same (see {@link ChatCompletions})
     */
    record Sightline(@JsonProperty("generation_id") UUID generationId, String intervention, JsonNode params,
                     JsonNode scores) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices, Usage usage,
                 Sightline sightline) {
        Chunk(String id, long created, String model, List<ChunkChoice> choices, Usage usage, Sightline sightline) {
            this(id, "chat.completion.chunk", created, model, choices, usage, sightline);
        }
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record ChunkChoice(int index, Delta delta, Logprobs logprobs,
                       @JsonProperty("finish_reason") String finishReason) {
    }

    /** @param role only in a choice's first chunk */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content) {
    }

    record ModelList(String object, List<Model> data) {
        ModelList(List<Model> data) {
            this("list", data);
        }
    }

    /** @param created when this process loaded the model (model.json carries no date), epoch seconds */
    record Model(String id, String object, long created, @JsonProperty("owned_by") String ownedBy) {
        Model(String id, long created) {
            this(id, "model", created, "sightline");
        }
    }
}
