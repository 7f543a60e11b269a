package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.store.ApiKeyStore;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
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

/**
 * {@code /v1/admin/api-keys}: create a team's key (the response is the only place the key ever appears), list keys
 * without them, revoke one. {@link ApiKeyFilter} lets only the admin key in.
 */
@RestController
@RequestMapping(path = ApiKeyFilter.ADMIN + "/api-keys", produces = MediaType.APPLICATION_JSON_VALUE)
public class ApiKeyController {

    /** Same rule as the {@code api_keys.team} check in V5__api_keys.sql. */
    static final Pattern TEAM = Pattern.compile("^[a-z0-9][a-z0-9._-]{0,62}$");
    static final int MAX_NAME_CHARS = 100;
    private static final int MAX_BODY_BYTES = 4096;

    /** {@code POST} body. */
    public record NewKey(String team, String name) {
    }

    /** A key as listed; {@code key} only in the response that created it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record KeyView(UUID id, String team, String name, String prefix,
                          @JsonProperty("created_at") Instant createdAt,
                          @JsonProperty("revoked_at") @JsonInclude(JsonInclude.Include.ALWAYS) Instant revokedAt,
                          String key) {

        static KeyView of(ApiKeyStore.ApiKey k, String key) {
            return new KeyView(k.id(), k.team(), k.name(), k.prefix(), k.createdAt(), k.revokedAt(), key);
        }
    }

    private final ApiKeyStore keys;
    private final GenerationRequestParser parser;

    public ApiKeyController(ApiKeyStore keys, GenerationRequestParser parser) {
        this.keys = keys;
        this.parser = parser;
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(operationId = "createApiKey", summary = "Create a team's API key (admin key only)")
    // the handler reads the body itself, so springdoc knows it only from here
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
            schema = @Schema(implementation = NewKey.class)))
    @ApiResponse(responseCode = "201", description = "created; key appears in this response only",
            headers = @Header(name = "Location", description = "/v1/admin/api-keys/{id}", schema = @Schema(type = "string")),
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = KeyView.class)))
    @ApiResponse(responseCode = "400", description = "invalid-request: team missing or not a valid team name, name too"
            + " long, malformed JSON")
    public Mono<ResponseEntity<KeyView>> create(ServerHttpRequest request) {
        return GenerationRequestParser.bytes(request.getBody(), MAX_BODY_BYTES)
                .map(body -> checked(parser.read(body, NewKey.class)))
                .flatMap(k -> {
                    String key = ApiKeys.generate();
                    return keys.create(k.team(), k.name() == null ? "" : k.name(), ApiKeys.sha256(key), ApiKeys.shown(key))
                            .map(stored -> ResponseEntity.created(URI.create(ApiKeyFilter.ADMIN + "/api-keys/" + stored.id()))
                                    .body(KeyView.of(stored, key)));
                });
    }

    /** A {@code team} that no team can be named is a mistake, not a filter that matches nothing: 400. */
    @Operation(operationId = "listApiKeys", summary = "API keys, without their secrets (admin key only)")
    @GetMapping
    public Mono<List<KeyView>> list(@RequestParam(required = false) String team) {
        if (team != null && !TEAM.matcher(team).matches()) {
            return Mono.error(teamError());
        }
        return keys.list(team).map(k -> KeyView.of(k, null)).collectList();
    }

    @Operation(operationId = "revokeApiKey", summary = "Revoke an API key (admin key only)")
    @ApiResponse(responseCode = "200", description = "the revoked key")
    @ApiResponse(responseCode = "404", description = "not-found: no API key with this id")
    @DeleteMapping("/{id}")
    public Mono<KeyView> revoke(@PathVariable String id) {
        UUID uuid;
        try {
            uuid = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            return Mono.error(new NotFoundException("no API key with id " + id));
        }
        return keys.revoke(uuid).map(k -> KeyView.of(k, null))
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no API key with id " + id)));
    }

    private static InvalidRequestException teamError() {
        return new InvalidRequestException("team", "must match " + TEAM.pattern() + " (lowercase letters, digits, . _ -)");
    }

    private static NewKey checked(NewKey k) {
        if (k.team() == null || !TEAM.matcher(k.team()).matches()) {
            throw teamError();
        }
        if (k.name() != null && k.name().length() > MAX_NAME_CHARS) {
            throw new InvalidRequestException("name", "at most " + MAX_NAME_CHARS + " characters");
        }
        return k;
    }
}
