package io.sightline.api;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Encoding;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.media.SchemaProperty;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.net.URI;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/** {@code /v1/generations}: create (multipart or JSON with base64; {@link Idempotency} keys), list, fetch one. */
@RestController
@RequestMapping(path = "/v1/generations", produces = MediaType.APPLICATION_JSON_VALUE)
public class GenerationController {

    private static final String JSON = MediaType.APPLICATION_JSON_VALUE;
    private static final String MULTIPART = MediaType.MULTIPART_FORM_DATA_VALUE;

    private final GenerationService service;
    private final GenerationRequestParser parser;
    private final Idempotency idempotency;
    private final JsonMapper json;

    public GenerationController(GenerationService service, GenerationRequestParser parser, Idempotency idempotency,
                                JsonMapper json) {
        this.service = service;
        this.parser = parser;
        this.idempotency = idempotency;
        this.json = json;
    }

    @PostMapping(consumes = MULTIPART)
    // springdoc keeps one operation per path and method: createFromJson's describes both request forms
    @Operation(hidden = true)
    public Mono<ResponseEntity<GenerationView>> createFromMultipart(ServerWebExchange exchange) {
        return exchange.getMultipartData()
                .flatMap(parser::fromMultipart)
                .flatMap(p -> create(exchange.getRequest(), p));
    }

    @PostMapping(consumes = JSON)
    @Operation(operationId = "createGeneration", summary = "Run the interventions on one image and store the outputs",
            description = "application/json: GenerationBody with the image in base64 (or a data: URL)."
                    + " multipart/form-data: the image as the file part image and the same JSON, without image, as"
                    + " the part request. Answered when every arm has finished; a refused request stores nothing.")
    @Parameter(in = ParameterIn.HEADER, name = Idempotency.HEADER, schema = @Schema(type = "string"),
            description = "a retry with the same key and request answers the first response instead of running again")
    @RequestBody(required = true, content = {
        @Content(mediaType = JSON, schema = @Schema(implementation = GenerationBody.class)),
        @Content(mediaType = MULTIPART, schema = @Schema(type = "object", requiredProperties = {"image", "request"}),
                schemaProperties = {
                    @SchemaProperty(name = "image", schema = @Schema(type = "string", format = "binary",
                            description = "PNG, JPEG or WebP, at most sightline.limits.max-image-bytes")),
                    @SchemaProperty(name = "request", schema = @Schema(implementation = GenerationBody.class,
                            description = "the JSON body without image"))},
                encoding = @Encoding(name = "request", contentType = JSON))})
    @ApiResponse(responseCode = "201", description = "completed and stored, one output per arm",
            headers = @Header(name = "Location", description = "/v1/generations/{id}", schema = @Schema(type = "string")),
            content = @Content(mediaType = JSON, schema = @Schema(implementation = GenerationView.class)))
    @ApiResponse(responseCode = "400", description = "invalid-request: malformed JSON, a missing or out-of-range field"
            + " (errors lists each), an unknown or missing part")
    @ApiResponse(responseCode = "409", description = "idempotency-key-in-use: the first request with this key is"
            + " still running (Retry-After)")
    @ApiResponse(responseCode = "413", description = "payload-too-large: the image or the request above its limit")
    @ApiResponse(responseCode = "415", description = "unsupported-media-type: the image is not PNG, JPEG or WebP, or"
            + " the body is neither JSON nor multipart")
    @ApiResponse(responseCode = "422", description = "image-too-large, invalid-image, unknown-intervention,"
            + " invalid-params, control-conflict (stored as failed) or idempotency-key-reused")
    @ApiResponse(responseCode = "429", description = "overloaded: the queue to the decode batch is full (Retry-After)")
    @ApiResponse(responseCode = "500", description = "engine-failure: ONNX Runtime failed (stored as failed)")
    @ApiResponse(responseCode = "503", description = "cancelled on the server, e.g. at shutdown (stored as failed)")
    @ApiResponse(responseCode = "504", description = "timeout: past timeout_ms (stored as failed)")
    public Mono<ResponseEntity<GenerationView>> createFromJson(ServerHttpRequest request) {
        return GenerationRequestParser.bytes(request.getBody(), parser.maxJsonBytes())
                .flatMap(parser::fromJson)
                .flatMap(p -> create(request, p));
    }

    // the parsed body and the image bytes make two requests the same, not the wire bytes (multipart boundaries differ)
    private Mono<ResponseEntity<GenerationView>> create(ServerHttpRequest request, GenerationRequestParser.Parsed p) {
        return idempotency.once(request, GenerationView.class, new byte[][] {json.writeValueAsBytes(p.body()), p.image()},
                () -> service.create(p.body(), p.image()).map(GenerationController::created));
    }

    @Operation(operationId = "listGenerations", summary = "The team's generations, newest first")
    @ApiResponse(responseCode = "200", description = "one page")
    @ApiResponse(responseCode = "400", description = "invalid-request: page or size out of range")
    @GetMapping
    public Mono<GenerationPageView> list(@RequestParam(defaultValue = "0") int page,
                                         @RequestParam(defaultValue = "20") int size,
                                         @RequestParam(required = false) String intervention) {
        return Paging.check(page, size)
                .then(service.list(page, size, intervention == null || intervention.isBlank() ? null : intervention));
    }

    @Operation(operationId = "getGeneration", summary = "One generation with its outputs and scores")
    @ApiResponse(responseCode = "200", description = "the stored generation")
    @ApiResponse(responseCode = "404", description = "not-found: no generation with this id visible to the caller's team")
    @GetMapping("/{id}")
    public Mono<GenerationView> get(@PathVariable String id) {
        return Paging.id(id, "generation").flatMap(service::find);
    }

    private static ResponseEntity<GenerationView> created(GenerationView view) {
        return ResponseEntity.created(URI.create("/v1/generations/" + view.id())).body(view);
    }
}
