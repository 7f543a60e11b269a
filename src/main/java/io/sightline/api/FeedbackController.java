package io.sightline.api;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import org.springframework.format.annotation.DateTimeFormat;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/** Live A/B: {@code /v1/generations/{id}/feedback} and {@code GET /v1/experiments/summary}. */
@RestController
public class FeedbackController {

    private final FeedbackService service;
    private final GenerationRequestParser parser;

    public FeedbackController(FeedbackService service, GenerationRequestParser parser) {
        this.service = service;
        this.parser = parser;
    }

    @PostMapping(path = "/v1/generations/{id}/feedback", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(operationId = "createFeedback", summary = "Judge a completed generation's arms")
    // the handler reads the body itself, so springdoc knows it only from here
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
            schema = @Schema(implementation = FeedbackBody.class)))
    @ApiResponse(responseCode = "201", description = "stored",
            headers = @Header(name = "Location", description = "/v1/generations/{id}/feedback",
                    schema = @Schema(type = "string")),
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = FeedbackView.class)))
    @ApiResponse(responseCode = "400", description = "invalid-request: neither preferred_arm nor arms, an arm out of"
            + " range or judged twice, a note too long (errors lists each), malformed JSON")
    @ApiResponse(responseCode = "404", description = "not-found: no such generation")
    @ApiResponse(responseCode = "409", description = "invalid-state: the generation is not completed")
    @ApiResponse(responseCode = "413", description = "payload-too-large")
    public Mono<ResponseEntity<FeedbackView>> create(@PathVariable String id, ServerHttpRequest request) {
        return Paging.id(id, "generation").flatMap(uuid -> GenerationRequestParser.bytes(request.getBody(),
                                GenerationRequestParser.MAX_REQUEST_JSON_BYTES)
                        .map(body -> parser.read(body, FeedbackBody.class))
                        .flatMap(body -> service.create(uuid, body)))
                .map(f -> ResponseEntity.created(URI.create("/v1/generations/" + id + "/feedback")).body(f));
    }

    @Operation(operationId = "listFeedback", summary = "The feedback given on a generation")
    @ApiResponse(responseCode = "200", description = "every feedback, oldest first")
    @ApiResponse(responseCode = "404", description = "not-found: no generation with this id visible to the caller's team")
    @GetMapping(path = "/v1/generations/{id}/feedback", produces = MediaType.APPLICATION_JSON_VALUE)
    public Mono<List<FeedbackView>> list(@PathVariable String id) {
        return Paging.id(id, "generation").flatMap(service::list);
    }

    /**
     * @param from         ISO-8601 instant, inclusive
     * @param to           ISO-8601 instant, exclusive
     * @param intervention only generations with an arm of this method
     */
    @Operation(operationId = "getExperimentSummary", summary = "A/B summary of the team's feedback per intervention")
    @ApiResponse(responseCode = "200", description = "the summary")
    @ApiResponse(responseCode = "400", description = "invalid-request: from or to not an ISO-8601 instant")
    @GetMapping(path = "/v1/experiments/summary", produces = MediaType.APPLICATION_JSON_VALUE)
    public Mono<ExperimentSummaryView> summary(
            @RequestParam(required = false) @DateTimeFormat(iso = DateTimeFormat.ISO.DATE_TIME) Instant from,
            @RequestParam(required = false) @DateTimeFormat(iso = DateTimeFormat.ISO.DATE_TIME) Instant to,
            @RequestParam(required = false) String intervention) {
        return service.summary(from, to, intervention == null || intervention.isBlank() ? null : intervention);
    }
}
