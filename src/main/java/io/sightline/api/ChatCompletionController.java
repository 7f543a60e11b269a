package io.sightline.api;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.json.JsonMapper;

/**
 * The OpenAI-compatible surface: {@code POST /v1/chat/completions} (JSON, or server-sent events with
 * {@code stream: true}) and {@code GET /v1/models}. Mapping rules live in {@link ChatCompletions}; every call is a
 * stored generation run by {@link GenerationService}.
 */
@RestController
public class ChatCompletionController {

    private static final Log log = LogFactory.getLog(ChatCompletionController.class);
    static final String PATH = "/v1/chat/completions";
    static final String MODELS = "/v1/models";
    private static final String DONE = "[DONE]";

    private final GenerationService service;
    private final ChatCompletions chat;
    private final GenerationRequestParser parser;
    private final JsonMapper json;
    private final long loadedAt = Instant.now().getEpochSecond();

    public ChatCompletionController(GenerationService service, ChatCompletions chat, GenerationRequestParser parser,
                                    JsonMapper json) {
        this.service = service;
        this.chat = chat;
        this.parser = parser;
        this.json = json;
    }

    @Operation(operationId = "listModels", summary = "The loaded model, as OpenAI's model list")
    @GetMapping(path = MODELS, produces = MediaType.APPLICATION_JSON_VALUE)
    public ChatCompletionResponse.ModelList models() {
        return new ChatCompletionResponse.ModelList(List.of(new ChatCompletionResponse.Model(chat.model(), loadedAt)));
    }

    @PostMapping(path = PATH, consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(operationId = "createChatCompletion", summary = "OpenAI Chat Completions on the loaded model",
            description = "One user message with text and at most one image (a data: URL); intervention is this"
                    + " service's extension. stream: true answers server-sent events.")
    // the handler reads the body and picks the response type itself, so springdoc knows both only from here
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
            schema = @Schema(implementation = ChatCompletionRequest.class)))
    @ApiResponse(responseCode = "200", description = "the completion, or with stream: true its chunks", content = {
        @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                schema = @Schema(implementation = ChatCompletionResponse.Completion.class)),
        @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE, schema = @Schema(
                implementation = ChatCompletionResponse.Chunk.class,
                description = "each event's data is one chunk, then [DONE]; a failure after the first chunk ends the"
                        + " stream with an event named error whose data is a ProblemDetail"))})
    @ApiResponse(responseCode = "400", description = "invalid-request: malformed JSON, an unknown (unimplemented)"
            + " OpenAI field, a missing or out-of-range field")
    @ApiResponse(responseCode = "404", description = "unknown-model: model is not the loaded model")
    @ApiResponse(responseCode = "413", description = "payload-too-large: the image above its limit")
    @ApiResponse(responseCode = "415", description = "unsupported-media-type: the image is not PNG, JPEG or WebP")
    @ApiResponse(responseCode = "422", description = "image-url-refused, too-many-images, unsupported-conversation,"
            + " image-too-large, invalid-image, unknown-intervention, invalid-params or control-conflict")
    @ApiResponse(responseCode = "429", description = "overloaded: the queue to the decode batch is full (Retry-After)")
    @ApiResponse(responseCode = "500", description = "engine-failure: ONNX Runtime failed")
    @ApiResponse(responseCode = "504", description = "timeout: the generation ran past the request timeout")
    public Mono<ResponseEntity<?>> create(ServerHttpRequest request) {
        return GenerationRequestParser.bytes(request.getBody(), parser.maxJsonBytes())
                .publishOn(Schedulers.boundedElastic())   // base64 of the image: off the event loop
                .map(chat::parse)
                .flatMap(call -> call.stream() ? Mono.just(stream(call)) : complete(call));
    }

    private Mono<ResponseEntity<?>> complete(ChatCompletions.Call call) {
        ChatCompletions.Reply reply = chat.reply(call, Instant.now().getEpochSecond());
        return service.create(call.body(), call.image(), call.run(UUID.randomUUID(), reply.listener()))
                .onErrorMap(e -> chat.renamed(e, call))
                .map(view -> ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(reply.completion(view)));
    }

    /**
     * Chunks as the engine chooses tokens, then the finish chunk, usage if asked, and {@code [DONE]}. The response is
     * committed with the first chunk, so a refusal before it (validation, a full queue) is still a ProblemDetail with
     * its status; a failure after it ends the stream with an {@code error} event. A client that goes away cancels
     * the subscription, which cancels the decode and stores the generation as failed (GenerationService).
     */
    private ResponseEntity<?> stream(ChatCompletions.Call call) {
        UUID id = UUID.randomUUID();
        ChatCompletions.Stream stream = chat.stream(call, id, Instant.now().getEpochSecond());
        AtomicBoolean started = new AtomicBoolean();
        Flux<ChatCompletionResponse.Chunk> chunks = Flux.create(sink -> {
            GenerationService.Run run = call.run(id, stream.listener(chunk -> {
                started.set(true);
                sink.next(chunk);
            }));
            Disposable generation = service.create(call.body(), call.image(), run)
                    .onErrorMap(e -> chat.renamed(e, call))
                    // subscribed here, not by the response: hand on the request's context (its TeamScope)
                    .contextWrite(sink.contextView())
                    .subscribe(view -> {
                        stream.finish(view).forEach(sink::next);
                        sink.complete();
                    }, sink::error);
            sink.onCancel(generation);
        });
        Flux<ServerSentEvent<String>> events = chunks.map(c -> data(json.writeValueAsString(c)))
                .concatWith(Mono.just(data(DONE)))
                .onErrorResume(e -> started.get() ? Mono.just(error(e)) : Mono.error(e));
        return ResponseEntity.ok().contentType(MediaType.TEXT_EVENT_STREAM).body(events);
    }

    // OpenAI writes "data: {...}" with a space; SSE parsers drop one leading space, and clients that match the
    // literal "data: " prefix see OpenAI's exact bytes.
    private static ServerSentEvent<String> data(String payload) {
        return ServerSentEvent.builder(" " + payload).build();
    }

    private ServerSentEvent<String> error(Throwable e) {
        ProblemDetail problem = ProblemHandler.problem(e);
        problem.setInstance(URI.create(PATH));
        ProblemHandler.addOpenAiError(problem);
        if (problem.getStatus() >= 500) {
            log.error("POST " + PATH + " failed after its first chunk", e);
        }
        return ServerSentEvent.builder(" " + json.writeValueAsString(problem)).event("error").build();
    }
}
