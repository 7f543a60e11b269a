package io.sightline.api;

import java.net.URI;
import org.springframework.core.io.buffer.DataBufferUtils;
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

/** {@code /v1/generations}: create (multipart or JSON with base64), list, fetch one. */
@RestController
@RequestMapping(path = "/v1/generations", produces = MediaType.APPLICATION_JSON_VALUE)
public class GenerationController {

    private final GenerationService service;
    private final GenerationRequestParser parser;

    public GenerationController(GenerationService service, GenerationRequestParser parser) {
        this.service = service;
        this.parser = parser;
    }

    @PostMapping(consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public Mono<ResponseEntity<GenerationView>> createFromMultipart(ServerWebExchange exchange) {
        return exchange.getMultipartData()
                .flatMap(parser::fromMultipart)
                .flatMap(p -> service.create(p.body(), p.image()))
                .map(GenerationController::created);
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    public Mono<ResponseEntity<GenerationView>> createFromJson(ServerHttpRequest request) {
        return DataBufferUtils.join(request.getBody(), parser.maxJsonBytes())
                .map(GenerationRequestParser::drain)
                .defaultIfEmpty(new byte[0])
                .flatMap(parser::fromJson)
                .flatMap(p -> service.create(p.body(), p.image()))
                .map(GenerationController::created);
    }

    @GetMapping
    public Mono<GenerationPageView> list(@RequestParam(defaultValue = "0") int page,
                                         @RequestParam(defaultValue = "20") int size,
                                         @RequestParam(required = false) String intervention) {
        return Paging.check(page, size)
                .then(service.list(page, size, intervention == null || intervention.isBlank() ? null : intervention));
    }

    @GetMapping("/{id}")
    public Mono<GenerationView> get(@PathVariable String id) {
        return Paging.id(id, "generation").flatMap(service::find);
    }

    private static ResponseEntity<GenerationView> created(GenerationView view) {
        return ResponseEntity.created(URI.create("/v1/generations/" + view.id())).body(view);
    }
}
