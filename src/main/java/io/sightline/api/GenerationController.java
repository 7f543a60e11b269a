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
import tools.jackson.databind.json.JsonMapper;

/** {@code /v1/generations}: create (multipart or JSON with base64; {@link Idempotency} keys), list, fetch one. */
@RestController
@RequestMapping(path = "/v1/generations", produces = MediaType.APPLICATION_JSON_VALUE)
public class GenerationController {

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

    @PostMapping(consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public Mono<ResponseEntity<GenerationView>> createFromMultipart(ServerWebExchange exchange) {
        return exchange.getMultipartData()
                .flatMap(parser::fromMultipart)
                .flatMap(p -> create(exchange.getRequest(), p));
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    public Mono<ResponseEntity<GenerationView>> createFromJson(ServerHttpRequest request) {
        return DataBufferUtils.join(request.getBody(), parser.maxJsonBytes())
                .map(GenerationRequestParser::drain)
                .defaultIfEmpty(new byte[0])
                .flatMap(parser::fromJson)
                .flatMap(p -> create(request, p));
    }

    // the parsed body and the image bytes make two requests the same, not the wire bytes (multipart boundaries differ)
    private Mono<ResponseEntity<GenerationView>> create(ServerHttpRequest request, GenerationRequestParser.Parsed p) {
        return idempotency.once(request, GenerationView.class, new byte[][] {json.writeValueAsBytes(p.body()), p.image()},
                () -> service.create(p.body(), p.image()).map(GenerationController::created));
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
