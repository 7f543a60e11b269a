package io.sightline.api;

import static io.sightline.api.UploadPartsReader.IMAGES;
import static io.sightline.api.UploadPartsReader.ITEMS;
import static io.sightline.api.UploadPartsReader.REQUEST;
import static io.sightline.api.UploadPartsReader.SYNONYMS;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Encoding;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.media.SchemaProperty;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code /v1/evaluations}: start one on a shipped set (JSON) or an uploaded one (multipart), 202 with
 * {@link Idempotency} keys; list, fetch one with its report, page its items or export them, cancel.
 */
@RestController
@RequestMapping(path = "/v1/evaluations", produces = MediaType.APPLICATION_JSON_VALUE)
public class EvaluationController {

    private static final String JSON = MediaType.APPLICATION_JSON_VALUE;
    private static final String MULTIPART = MediaType.MULTIPART_FORM_DATA_VALUE;

    private final EvaluationService service;
    private final GenerationRequestParser parser;
    private final UploadPartsReader uploads;
    private final Idempotency idempotency;
    private final JsonMapper json;

    public EvaluationController(EvaluationService service, GenerationRequestParser parser, UploadPartsReader uploads,
                                Idempotency idempotency, JsonMapper json) {
        this.service = service;
        this.parser = parser;
        this.uploads = uploads;
        this.idempotency = idempotency;
        this.json = json;
    }

    @PostMapping(consumes = JSON)
    @Operation(operationId = "createEvaluation", summary = "Start an evaluation of a shipped set or an uploaded one",
            description = "application/json: the body names a shipped set. multipart/form-data: an uploaded set in"
                    + " the parts request (the same JSON with upload {name, kind: pope or chair} instead of set),"
                    + " items (JSONL), images (one file part per image) and, for chair, synonyms; every problem of"
                    + " the set is listed in one 422 invalid-set. Nothing is stored on refusal.")
    @Parameter(in = ParameterIn.HEADER, name = Idempotency.HEADER, schema = @Schema(type = "string"),
            description = "a retry with the same key and request answers the first response instead of starting again")
    @RequestBody(required = true, content = {
        @Content(mediaType = JSON, schema = @Schema(implementation = EvaluationBody.class)),
        @Content(mediaType = MULTIPART, schema = @Schema(type = "object", requiredProperties = {REQUEST, ITEMS}),
                schemaProperties = {
                    @SchemaProperty(name = REQUEST, schema = @Schema(implementation = EvaluationBody.class,
                            description = "the JSON body, with upload instead of set")),
                    @SchemaProperty(name = ITEMS, schema = @Schema(type = "string", format = "binary",
                            description = "JSONL, one item a line: pope {question_id, image, text, label: yes or no,"
                                    + " object}; chair {question_id, image, text, objects}")),
                    @SchemaProperty(name = IMAGES, array = @ArraySchema(schema = @Schema(type = "string",
                            format = "binary"), arraySchema = @Schema(description = "one file part per image, its"
                            + " filename what the items' image field says"))),
                    @SchemaProperty(name = SYNONYMS, schema = @Schema(type = "string", format = "binary",
                            description = "chair only, optional: object -> the words naming it, as synonyms.json"))},
                encoding = @Encoding(name = REQUEST, contentType = JSON))})
    @ApiResponse(responseCode = "202", description = "stored and queued",
            headers = @Header(name = "Location", description = "/v1/evaluations/{id}", schema = @Schema(type = "string")),
            content = @Content(mediaType = JSON, schema = @Schema(implementation = EvaluationView.class)))
    @ApiResponse(responseCode = "400", description = "invalid-request: malformed JSON, a missing or out-of-range field"
            + " (errors lists each), a missing or unknown part")
    @ApiResponse(responseCode = "409", description = "idempotency-key-in-use: the first request with this key is"
            + " still running (Retry-After)")
    @ApiResponse(responseCode = "413", description = "payload-too-large: the request or an uploaded part above its limit")
    @ApiResponse(responseCode = "415", description = "unsupported-media-type: the body is neither JSON nor multipart")
    @ApiResponse(responseCode = "422", description = "unknown-set, invalid-set (errors names each problem),"
            + " unknown-intervention, invalid-params or idempotency-key-reused")
    public Mono<ResponseEntity<EvaluationView>> create(ServerHttpRequest request) {
        return GenerationRequestParser.bytes(request.getBody(), GenerationRequestParser.MAX_REQUEST_JSON_BYTES)
                .map(body -> parser.read(body, EvaluationBody.class))
                .flatMap(body -> idempotency.once(request, EvaluationView.class, new byte[][] {json.writeValueAsBytes(body)},
                        () -> service.create(body).map(EvaluationController::accepted)));
    }

    /** An uploaded set: parts {@code request}, {@code items}, {@code images} and optionally {@code synonyms}. */
    @PostMapping(consumes = MULTIPART)
    // springdoc keeps one operation per path and method: create's describes both request forms
    @Operation(hidden = true)
    public Mono<ResponseEntity<EvaluationView>> upload(ServerHttpRequest request) {
        return uploads.read(request).flatMap(parts -> {
            EvaluationBody body = parser.read(parts.request(), EvaluationBody.class);
            return idempotency.once(request, EvaluationView.class, parts.fingerprint(json.writeValueAsBytes(body)),
                    () -> service.create(body, parts).map(EvaluationController::accepted));
        });
    }

    private static ResponseEntity<EvaluationView> accepted(EvaluationView view) {
        return ResponseEntity.accepted().location(URI.create("/v1/evaluations/" + view.id())).body(view);
    }

    @Operation(operationId = "listEvaluations", summary = "The team's evaluations, newest first")
    @ApiResponse(responseCode = "200", description = "one page")
    @ApiResponse(responseCode = "400", description = "invalid-request: page or size out of range")
    @GetMapping
    public Mono<EvaluationPageView> list(@RequestParam(defaultValue = "0") int page,
                                         @RequestParam(defaultValue = "20") int size) {
        return Paging.check(page, size).then(service.list(page, size));
    }

    @Operation(operationId = "getEvaluation", summary = "An evaluation's status, progress and report")
    @ApiResponse(responseCode = "200", description = "the evaluation")
    @ApiResponse(responseCode = "404", description = "not-found: no evaluation with this id visible to the caller's team")
    @GetMapping("/{id}")
    public Mono<EvaluationView> get(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::find);
    }

    @Operation(operationId = "listEvaluationItems", summary = "An evaluation's items with each arm's answer")
    @ApiResponse(responseCode = "200", description = "one page")
    @ApiResponse(responseCode = "400", description = "invalid-request: page or size out of range")
    @ApiResponse(responseCode = "404", description = "not-found: no evaluation with this id visible to the caller's team")
    @GetMapping("/{id}/items")
    public Mono<EvaluationItemView.Page> items(@PathVariable String id, @RequestParam(defaultValue = "0") int page,
                                               @RequestParam(defaultValue = "20") int size) {
        return Paging.check(page, size).then(Paging.id(id, "evaluation")).flatMap(uuid -> service.items(uuid, page, size));
    }

    /** The same rows as {@code /items}, all at once, one line per item and arm. */
    @Operation(operationId = "getEvaluationItemsCsv", summary = "An evaluation's items as CSV, one line per item and arm")
    @ApiResponse(responseCode = "200", description = "the CSV")
    @ApiResponse(responseCode = "404", description = "not-found: no evaluation with this id visible to the caller's team")
    @GetMapping(path = "/{id}/items.csv", produces = "text/csv")
    public Mono<ResponseEntity<String>> csv(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::csv).map(csv -> ResponseEntity.ok()
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"evaluation-" + id + "-items.csv\"")
                .contentType(new MediaType("text", "csv", StandardCharsets.UTF_8))
                .body(csv));
    }

    @Operation(operationId = "deleteEvaluation", summary = "Cancel an evaluation (as POST .../cancel)")
    @ApiResponse(responseCode = "200", description = "the evaluation, cancelled unless it had ended")
    @ApiResponse(responseCode = "404", description = "not-found: no evaluation with this id visible to the caller's team")
    @DeleteMapping("/{id}")
    public Mono<EvaluationView> delete(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::cancel);
    }

    @Operation(operationId = "cancelEvaluation", summary = "Cancel an evaluation: its waiting items are not run")
    @ApiResponse(responseCode = "200", description = "the evaluation, cancelled unless it had ended")
    @ApiResponse(responseCode = "404", description = "not-found: no evaluation with this id visible to the caller's team")
    @PostMapping("/{id}/cancel")
    public Mono<EvaluationView> cancel(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::cancel);
    }
}
