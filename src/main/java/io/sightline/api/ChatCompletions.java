package io.sightline.api;

import io.sightline.api.ChatCompletionRequest.Part;
import io.sightline.api.ChatCompletionResponse.Choice;
import io.sightline.api.ChatCompletionResponse.Chunk;
import io.sightline.api.ChatCompletionResponse.ChunkChoice;
import io.sightline.api.ChatCompletionResponse.Completion;
import io.sightline.api.ChatCompletionResponse.Delta;
import io.sightline.api.ChatCompletionResponse.Logprobs;
import io.sightline.api.ChatCompletionResponse.Message;
import io.sightline.api.ChatCompletionResponse.Sightline;
import io.sightline.api.ChatCompletionResponse.TokenLogprob;
import io.sightline.api.ChatCompletionResponse.TopLogprob;
import io.sightline.api.ChatCompletionResponse.Usage;
import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TokenListener;
import io.sightline.engine.Tokenizer;
import io.sightline.engine.sampling.Sampler;
import io.sightline.intervention.ArmSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * OpenAI Chat Completions onto Sightline generations: a chat request becomes a {@link GenerationBody} (admitted,
 * stored and run like any generation, its stored request saying {@code "source": {"api": "chat.completions"}}),
 * and the stored generation becomes the OpenAI response.
 *
 * <p>Mapping choices, and why:
 * <ul>
 * <li>Exactly one message, from the user, with one image. The model's template is fixed and single-turn
 *     ({@code USER: <image>\n{prompt} ASSISTANT:}) and it was trained without system prompts or history, so system,
 *     developer and earlier turns are refused (422 unsupported-conversation) rather than dropped or glued into the
 *     question, where they would silently change the answer. The text parts, joined by a space, are the prompt.</li>
 * <li>Images only inline, as {@code data:} URLs: the service never fetches a URL (422 image-url-refused); the model
 *     takes one image (422 too-many-images); every generation is stored with its image, so one is required.</li>
 * <li>{@code n} choices are {@code n} arms of the same intervention in one engine call. Choice i samples with
 *     {@code seed + i} ({@link DecodingOptions.ArmSeeds#CONSECUTIVE}), so sampled choices are independent draws and
 *     a seeded call is reproducible choice by choice; a sampled call without a seed gets one drawn and stored, as
 *     {@code /v1/generations} does. Greedy choices are identical. ({@code /v1/generations} arms share one stream
 *     instead, so that they differ only by their intervention.)</li>
 * <li>{@code logprobs}: the chosen token's log-probability under the arm's final logits (after its intervention,
 *     before temperature), as stored; {@code top_logprobs}: the most probable tokens of the same logits, computed
 *     the same way ({@link TopLogprobs}), each with the text it would have added. A token of zero probability (cut
 *     by an intervention's plausibility cutoff) is reported as OpenAI does, {@value #ZERO_PROBABILITY_LOGPROB}.</li>
 * <li>{@code intervention} is one object or a list; a list composes its methods in one arm in list order, as the
 *     arm {@code "a+b"} with params keyed by name does in {@code /v1/generations}.</li>
 * <li>Admission's field names are translated back to the chat request's ({@code max_new_tokens} to
 *     {@code max_tokens}, {@code arms} to {@code n} or {@code intervention}).</li>
 * </ul>
 */
public final class ChatCompletions {

    static final String API = "chat.completions";
    /** OpenAI's range for {@code top_logprobs}. */
    static final int MAX_TOP_LOGPROBS = 20;
    /** OpenAI's logprob for a token of zero probability: JSON has no -Infinity. */
    static final double ZERO_PROBABILITY_LOGPROB = -9999.0;

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
    private static final Pattern URL_SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
    private static final Pattern ARM_FIELD = Pattern.compile("^arms\\[\\d+]\\.(intervention|params)");

    /**
     * A chat request ready to run.
     *
     * @param maxTokensField the name the client used for the token limit, for error messages
     * @param topLogprobs    ranked tokens per content token, 0 when none were asked for
     */
    record Call(GenerationBody body, byte[] image, Map<String, Object> source, String maxTokensField, boolean stream,
                boolean includeUsage, boolean logprobs, int topLogprobs) {

        /** How the generation runs: under {@code id}, telling {@code listener} its tokens, choice i with seed + i. */
        GenerationService.Run run(UUID id, TokenListener listener) {
            return new GenerationService.Run(id, source, listener, DecodingOptions.ArmSeeds.CONSECUTIVE);
        }

        int choices() {
            return body.arms().size();
        }
    }

    private final GenerationRequestParser parser;
    private final Tokenizer tokenizer;
    private final String model;
    private final int imageTokens;

    public ChatCompletions(GenerationRequestParser parser, Tokenizer tokenizer, String model, int imageTokens) {
        this.parser = parser;
        this.tokenizer = tokenizer;
        this.model = model;
        this.imageTokens = imageTokens;
    }

    /** The served model's id (model.json's name). */
    public String model() {
        return model;
    }

    /** Bytes to a runnable call; blocking (decodes base64). Range checks are left to {@link GenerationAdmission}. */
    Call parse(byte[] bytes) {
        ChatCompletionRequest r = parser.read(bytes, ChatCompletionRequest.class);
        if (r.model() != null && !r.model().equals(model)) {
            throw new RefusedRequestException(ProblemType.UNKNOWN_MODEL, "model",
                    "no model '" + r.model() + "'; this service serves '" + model + "' (GET /v1/models)");
        }
        List<FieldError> errors = new ArrayList<>();
        if (r.maxTokens() != null && r.maxCompletionTokens() != null) {
            errors.add(new FieldError("max_tokens", "give max_tokens or max_completion_tokens, not both"));
        }
        int n = r.n() == null ? 1 : r.n();
        if (n < 1) {
            errors.add(new FieldError("n", "must be >= 1, was " + n));
        }
        boolean logprobs = Boolean.TRUE.equals(r.logprobs());
        if (r.topLogprobs() != null && (r.topLogprobs() < 0 || r.topLogprobs() > MAX_TOP_LOGPROBS)) {
            errors.add(new FieldError("top_logprobs", "must be in 0.." + MAX_TOP_LOGPROBS + ", was " + r.topLogprobs()));
        } else if (r.topLogprobs() != null && !logprobs) {
            errors.add(new FieldError("top_logprobs", "needs logprobs: true"));
        }
        boolean stream = Boolean.TRUE.equals(r.stream());
        if (r.streamOptions() != null && !stream) {
            errors.add(new FieldError("stream_options", "only with stream: true"));
        }
        List<ChatCompletionRequest.Intervention> interventions = r.intervention();
        if (interventions != null && interventions.isEmpty()) {
            errors.add(new FieldError("intervention", "an empty list; give one {\"name\", \"params\"} or leave it out"));
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        Prompt prompt = prompt(r.messages());

        GenerationBody.Arm arm = interventions == null ? DecodingAdmission.PLAIN_ARM : arm(interventions);
        String maxTokensField = r.maxCompletionTokens() != null ? "max_completion_tokens" : "max_tokens";
        GenerationBody body = new GenerationBody(prompt.text(), null,
                r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens(), r.temperature(), null,
                r.topP(), r.seed(), r.stop(), Collections.nCopies(n, arm), null);
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("api", API);
        source.put("n", n);
        source.put("stream", stream);
        source.put("logprobs", logprobs);
        int topLogprobs = r.topLogprobs() == null ? 0 : r.topLogprobs();
        source.put("top_logprobs", topLogprobs);
        boolean includeUsage = stream && r.streamOptions() != null && Boolean.TRUE.equals(r.streamOptions().includeUsage());
        return new Call(body, parser.base64(prompt.imageUrl(), prompt.imageField()), source, maxTokensField, stream,
                includeUsage, logprobs, topLogprobs);
    }

    /** One method as is; several as the composed arm {@code "a+b"} with params keyed by method. */
    private static GenerationBody.Arm arm(List<ChatCompletionRequest.Intervention> interventions) {
        if (interventions.contains(null)) {
            return null;
        }
        if (interventions.size() == 1) {
            return new GenerationBody.Arm(interventions.get(0).name(), interventions.get(0).params());
        }
        Map<String, Object> params = new LinkedHashMap<>();
        for (ChatCompletionRequest.Intervention iv : interventions) {
            if (iv.params() != null && iv.name() != null) {
                params.put(iv.name(), iv.params());
            }
        }
        return new GenerationBody.Arm(ArmSpec.composedName(interventions.stream().map(i -> String.valueOf(i.name())).toList()),
                params);
    }

    private record Prompt(String text, String imageUrl, String imageField) {
    }

    private static Prompt prompt(List<ChatCompletionRequest.Message> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new InvalidRequestException("messages", "is required: one user message with text and one image");
        }
        for (int i = 0; i < messages.size(); i++) {
            ChatCompletionRequest.Message m = messages.get(i);
            if (m == null || m.role() == null || !ROLES.contains(m.role())) {
                throw new InvalidRequestException("messages[" + i + "].role", "must be one of " + ROLES);
            }
        }
        if (messages.size() != 1 || !"user".equals(messages.get(0).role())) {
            throw new RefusedRequestException(ProblemType.UNSUPPORTED_CONVERSATION, "messages",
                    "this model answers one question about one image with a fixed single-turn template; send exactly"
                            + " one user message (system, developer and earlier turns are not dropped silently)");
        }
        List<Part> parts = messages.get(0).content();
        if (parts == null || parts.isEmpty()) {
            throw new InvalidRequestException("messages[0].content", "is required: text and one image_url part");
        }
        List<String> text = new ArrayList<>();
        String imageUrl = null;
        String imageField = null;
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            String field = "messages[0].content[" + i + "]";
            if (p != null && "text".equals(p.type()) && p.text() != null) {
                text.add(p.text());
            } else if (p != null && "image_url".equals(p.type()) && p.imageUrl() != null && p.imageUrl().url() != null) {
                if (imageUrl != null) {
                    throw new RefusedRequestException(ProblemType.TOO_MANY_IMAGES, field,
                            "the model takes one image per call");
                }
                imageUrl = p.imageUrl().url();
                imageField = field + ".image_url.url";
                if (imageUrl.isBlank()) {
                    throw new InvalidRequestException(imageField, "is empty: send the image inline as data:image/png;base64,...");
                }
                var scheme = URL_SCHEME.matcher(imageUrl);
                if (scheme.find() && !scheme.group().equalsIgnoreCase("data:")) {
                    throw new RefusedRequestException(ProblemType.IMAGE_URL_REFUSED, imageField,
                            "the service never fetches URLs; send the image inline as data:image/png;base64,...");
                }
            } else {
                throw new InvalidRequestException(field,
                        "expected {\"type\": \"text\", \"text\": ...} or {\"type\": \"image_url\", \"image_url\": {\"url\": ...}}");
            }
        }
        if (imageUrl == null) {
            throw new InvalidRequestException("messages[0].content",
                    "needs one image_url part (a data: URL): the model answers questions about an image");
        }
        return new Prompt(String.join(" ", text), imageUrl, imageField);
    }

    /** Admission's errors, named as the chat request names the fields. */
    Throwable renamed(Throwable e, Call call) {
        if (e instanceof InvalidRequestException invalid) {
            return new InvalidRequestException(invalid.errors().stream()
                    .map(f -> new FieldError(field(f.field(), call), f.message())).distinct().toList());
        }
        if (e instanceof InvalidParamsException params && params.field().startsWith("arms[")) {
            return new InvalidParamsException(field(params.field(), call), params.reason());
        }
        return e;
    }

    private static String field(String field, Call call) {
        return switch (field) {
            case "prompt" -> "messages[0].content";
            case "max_new_tokens" -> call.maxTokensField();
            case "arms" -> "n";
            default -> ARM_FIELD.matcher(field).replaceFirst(m -> "intervention." + (m.group(1).equals("params") ? "params" : "name"));
        };
    }

    /** One non-streamed call: {@link #listener} keeps each token's ranking while it runs, {@link #completion} answers. */
    final class Reply {

        private final Call call;
        private final long created;
        private final List<List<List<Sampler.Ranked>>> top = new ArrayList<>();   // [choice][token]

        Reply(Call call, long created) {
            this.call = call;
            this.created = created;
            for (int i = 0; i < call.choices(); i++) {
                top.add(new ArrayList<>());
            }
        }

        /** Runs on the engine's threads (DecodeLoop.Ticket#submit); the response is built after the generation ends. */
        TokenListener listener() {
            return new TopLogprobs(call.choices(), call.topLogprobs(), (arm, token, logprob, ranked) -> top.get(arm).add(ranked));
        }

        /** The response, from the stored generation. */
        Completion completion(GenerationView v) {
            List<Choice> choices = new ArrayList<>();
            for (GenerationView.Output o : v.outputs()) {
                Logprobs logprobs = call.logprobs() ? new Logprobs(entries(ChoiceDecoder.pieces(tokenizer, o.tokens(),
                        floats(o.logprobs()), top.get(o.arm())))) : null;
                choices.add(new Choice(o.arm(), Message.assistant(o.text()), logprobs, finishReason(o, v)));
            }
            return new Completion(id(v.id()), created, model, choices, usage(v), sightline(v));
        }
    }

    Reply reply(Call call, long created) {
        return new Reply(call, created);
    }

    /** One streamed call's chunks: {@link #listener} on the engine's threads as tokens come, {@link #finish} after it. */
    final class Stream {

        private final Call call;
        private final String id;
        private final long created;
        private final List<ChoiceDecoder> choices = new ArrayList<>();
        private final boolean[] opened;

        Stream(Call call, UUID generationId, long created) {
            this.call = call;
            this.id = id(generationId);
            this.created = created;
            int n = call.choices();
            for (int i = 0; i < n; i++) {
                choices.add(new ChoiceDecoder(tokenizer, call.body().stop() == null ? List.of() : call.body().stop()));
            }
            this.opened = new boolean[n];
        }

        /** Hands {@code out} a chunk per chosen token, unless its text is held back; runs on the engine's threads. */
        TokenListener listener(Consumer<Chunk> out) {
            return new TopLogprobs(choices.size(), call.topLogprobs(), (arm, token, logprob, top) -> {
                ChoiceDecoder.Release r = choices.get(arm).accept(token, logprob, top);
                if (r != null) {
                    out.accept(chunk(List.of(choice(arm, r, null)), null, null));
                }
            });
        }

        /** The last chunks: every choice's rest with its finish reason and the scores, then usage if asked. */
        List<Chunk> finish(GenerationView v) {
            List<ChunkChoice> rest = new ArrayList<>();
            for (GenerationView.Output o : v.outputs()) {
                rest.add(choice(o.arm(), choices.get(o.arm()).finish(o.text(), o.tokens().length), finishReason(o, v)));
            }
            List<Chunk> out = new ArrayList<>(List.of(chunk(rest, null, sightline(v))));
            if (call.includeUsage()) {
                out.add(chunk(List.of(), usage(v), null));
            }
            return out;
        }

        private ChunkChoice choice(int arm, ChoiceDecoder.Release r, String finishReason) {
            String role = opened[arm] ? null : "assistant";
            opened[arm] = true;
            String content = r.text().isEmpty() && role == null ? null : r.text();
            return new ChunkChoice(arm, new Delta(role, content), call.logprobs() ? new Logprobs(entries(r.pieces())) : null,
                    finishReason);
        }

        private Chunk chunk(List<ChunkChoice> choices, Usage usage, Sightline sightline) {
            return new Chunk(id, created, model, choices, usage, sightline);
        }
    }

    Stream stream(Call call, UUID generationId, long created) {
        return new Stream(call, generationId, created);
    }

    private Usage usage(GenerationView v) {
        int completion = v.outputs().stream().mapToInt(o -> o.tokens().length).sum();
        return new Usage(tokenizer.prompt(v.prompt()).positions(imageTokens), completion);
    }

    private static Sightline sightline(GenerationView v) {
        GenerationView.Output first = v.outputs().get(0);
        return new Sightline(v.id(), first.intervention(), first.params(), first.scores());
    }

    // the engine stops an arm at eos, at a stop string or at max_new_tokens; only the last leaves it at the limit
    private static String finishReason(GenerationView.Output o, GenerationView v) {
        return o.tokens().length >= v.request().get("max_new_tokens").asInt() ? "length" : "stop";
    }

    private static List<TokenLogprob> entries(List<ChoiceDecoder.Piece> pieces) {
        return pieces.stream().map(p -> new TokenLogprob(p.text(), logprob(p), bytes(p.text()), p.top().stream()
                .map(t -> new TopLogprob(t.text(), logprob(t), bytes(t.text()))).toList())).toList();
    }

    private static double logprob(ChoiceDecoder.Piece p) {
        return p.logprob() == Float.NEGATIVE_INFINITY ? ZERO_PROBABILITY_LOGPROB : p.logprob();
    }

    private static int[] bytes(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] bytes = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            bytes[i] = utf8[i] & 0xff;
        }
        return bytes;
    }

    private static float[] floats(tools.jackson.databind.JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).floatValue();
        }
        return out;
    }

    private static String id(UUID generationId) {
        return "chatcmpl-" + generationId;
    }
}
