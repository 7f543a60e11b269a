package io.sightline.api;

import io.sightline.store.ApiKeyStore;
import io.sightline.store.TeamScope;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may call {@code /v1}. With {@code sightline.auth.enabled}, every {@code /v1} request needs
 * {@code Authorization: Bearer <team key>} and runs in that team's {@link TeamScope}; without it, requests run
 * unscoped ({@link TeamScope#ALL}). {@code /v1/admin} always needs the admin key. Everything outside {@code /v1}
 * (actuator health and metrics for the probes and the scraper, the OpenAPI document) stays open. Refusals are
 * ProblemDetails written here, since a filter runs before the handler whose errors {@link ProblemHandler} renders:
 * 401 when no or an unknown key is given (with {@code WWW-Authenticate: Bearer}), 403 when a known key opens
 * another door.
 */
public final class ApiKeyFilter implements WebFilter, Ordered {

    static final String ADMIN = "/v1/admin";
    private static final String BEARER = "Bearer ";

    private final boolean enabled;
    private final byte[] adminKey;
    private final ApiKeyStore keys;
    private final JsonMapper json;

    /** @param adminKey empty when none is configured: then {@code /v1/admin} is closed to everyone */
    public ApiKeyFilter(boolean enabled, String adminKey, ApiKeyStore keys, JsonMapper json) {
        this.enabled = enabled;
        this.adminKey = adminKey.getBytes(StandardCharsets.UTF_8);
        this.keys = keys;
        this.json = json;
    }

    /** First of all filters: nothing runs for a caller that is refused. */
    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        if (!path.startsWith("/v1/")) {
            return chain.filter(exchange);
        }
        String key = bearer(exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION));
        if (path.equals(ADMIN) || path.startsWith(ADMIN + "/")) {
            if (key == null) {
                return refuse(exchange, ProblemType.UNAUTHORIZED, "the admin endpoints need Authorization: Bearer <admin key>");
            }
            if (adminKey.length == 0) {
                return refuse(exchange, ProblemType.FORBIDDEN,
                        "no admin key is configured (sightline.auth.admin-key, env SIGHTLINE_AUTH_ADMIN_KEY)");
            }
            if (isAdmin(key)) {
                return chain.filter(exchange);
            }
            // a team key is known but opens another door (403); anything else is not a credential here at all (401)
            return keys.teamOf(ApiKeys.sha256(key))
                    .map(team -> refuse(exchange, ProblemType.FORBIDDEN, "the admin endpoints need the admin key, not a team key"))
                    .defaultIfEmpty(Mono.defer(() -> refuse(exchange, ProblemType.UNAUTHORIZED,
                            "the admin endpoints need Authorization: Bearer <admin key>; this is not the admin key")))
                    .flatMap(next -> next);
        }
        if (!enabled) {
            return chain.filter(exchange).contextWrite(TeamScope.ALL::in);
        }
        if (key == null) {
            return refuse(exchange, ProblemType.UNAUTHORIZED, "API keys are on: send Authorization: Bearer <team key>");
        }
        if (isAdmin(key)) {
            return refuse(exchange, ProblemType.FORBIDDEN, "the admin key opens only " + ADMIN + "; use a team key");
        }
        return keys.teamOf(ApiKeys.sha256(key))
                .map(team -> chain.filter(exchange).contextWrite(TeamScope.of(team)::in))
                .defaultIfEmpty(Mono.defer(() -> refuse(exchange, ProblemType.UNAUTHORIZED, "unknown or revoked API key")))
                .flatMap(next -> next);
    }

    private static String bearer(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return null;
        }
        String key = authorization.substring(BEARER.length()).strip();
        return key.isEmpty() ? null : key;
    }

    // constant time, so the comparison does not tell how much of a guess was right
    private boolean isAdmin(String key) {
        return adminKey.length > 0 && MessageDigest.isEqual(adminKey, key.getBytes(StandardCharsets.UTF_8));
    }

    private Mono<Void> refuse(ServerWebExchange exchange, ProblemType type, String detail) {
        ProblemDetail problem = ProblemHandler.forPath(type.problem(detail), exchange.getRequest().getPath().value());
        ServerHttpResponse response = exchange.getResponse();
        response.setStatusCode(type.status());
        response.getHeaders().setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        if (type == ProblemType.UNAUTHORIZED) {
            response.getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        }
        return response.writeWith(Mono.fromCallable(() -> response.bufferFactory().wrap(json.writeValueAsBytes(problem))));
    }
}
