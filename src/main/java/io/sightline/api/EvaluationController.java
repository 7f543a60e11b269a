package io.sightline.api;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.springframework.core.io.buffer.DataBufferUtils;
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

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    public Mono<ResponseEntity<EvaluationView>> create(ServerHttpRequest request) {
        return DataBufferUtils.join(request.getBody(), GenerationRequestParser.MAX_REQUEST_JSON_BYTES)
                .map(GenerationRequestParser::drain)
                .defaultIfEmpty(new byte[0])
                .map(body -> parser.read(body, EvaluationBody.class))
                .flatMap(body -> idempotency.once(request, EvaluationView.class, new byte[][] {json.writeValueAsBytes(body)},
                        () -> service.create(body).map(EvaluationController::accepted)));
    }

    /** An uploaded set: parts {@code request}, {@code items}, {@code images} and optionally {@code synonyms}. */
    @PostMapping(consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
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

    @GetMapping
    public Mono<EvaluationPageView> list(@RequestParam(defaultValue = "0") int page,
                                         @RequestParam(defaultValue = "20") int size) {
        return Paging.check(page, size).then(service.list(page, size));
    }

    @GetMapping("/{id}")
    public Mono<EvaluationView> get(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::find);
    }

    @GetMapping("/{id}/items")
    public Mono<EvaluationItemView.Page> items(@PathVariable String id, @RequestParam(defaultValue = "0") int page,
                                               @RequestParam(defaultValue = "20") int size) {
        return Paging.check(page, size).then(Paging.id(id, "evaluation")).flatMap(uuid -> service.items(uuid, page, size));
    }

    /** The same rows as {@code /items}, all at once, one line per item and arm. */
    @GetMapping(path = "/{id}/items.csv", produces = "text/csv")
    public Mono<ResponseEntity<String>> csv(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::csv).map(csv -> ResponseEntity.ok()
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"evaluation-" + id + "-items.csv\"")
                .contentType(new MediaType("text", "csv", StandardCharsets.UTF_8))
                .body(csv));
    }

    @DeleteMapping("/{id}")
    public Mono<EvaluationView> delete(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::cancel);
    }

    @PostMapping("/{id}/cancel")
    public Mono<EvaluationView> cancel(@PathVariable String id) {
        return Paging.id(id, "evaluation").flatMap(service::cancel);
    }
}
