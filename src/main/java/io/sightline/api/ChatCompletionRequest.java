package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/**
 * The JSON of {@code POST /v1/chat/completions}: the OpenAI Chat Completions request, the fields this service
 * honours, plus the extension {@code intervention}. Parsed as strictly as {@link GenerationBody}: an OpenAI field
 * this service does not implement ({@code tools}, {@code response_format}, ...) is an unknown field and refused,
 * never silently ignored. {@link ChatCompletions} maps it onto a {@link GenerationBody}.
 *
 * @param stop         a string or an array of strings
 * @param n            choices: one arm each, same intervention (see {@link ChatCompletions})
 * @param intervention one {@code {"name", "params"}} object or an array of them
 */
public record ChatCompletionRequest(List<Message> messages,
                                    String model,
                                    @JsonProperty("max_tokens") Integer maxTokens,
                                    @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
                                    Double temperature,
                                    @JsonProperty("top_p") Double topP,
                                    Long seed,
                                    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
                                    Integer n,
                                    Boolean logprobs,
                                    @JsonProperty("top_logprobs") Integer topLogprobs,
                                    Boolean stream,
                                    @JsonProperty("stream_options") StreamOptions streamOptions,
                                    @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
                                    List<Intervention> intervention) {

    /** @param content a string (one text part) or an array of parts */
    // its own name in the OpenAPI document, where the response's message is ChatResponseMessage
    @Schema(name = "ChatRequestMessage")
    public record Message(String role,
                          @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<Part> content) {
    }

    /**
     * A content part: {@code {"type": "text", "text": ...}} or {@code {"type": "image_url", "image_url": {...}}}.
     * A plain string stands for a text part.
     */
    public record Part(String type, String text, @JsonProperty("image_url") ImageUrl imageUrl) {

        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        static Part text(String text) {
            return new Part("text", text, null);
        }
    }

    /** @param detail OpenAI's resolution hint; accepted and unused, the model has one input size */
    public record ImageUrl(String url, String detail) {
    }

    public record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {
    }

    /** @param params values laid over the method's defaults */
    public record Intervention(String name, Map<String, Object> params) {
    }
}
