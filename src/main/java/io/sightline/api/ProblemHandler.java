package io.sightline.api;

import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.SightlineException;
import io.sightline.engine.UnknownInterventionException;
import java.net.URI;
import java.util.Map;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.core.codec.DecodingException;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;

/**
 * Renders every error as an RFC 9457 ProblemDetail whose {@code type} comes from {@link ProblemType}. Core
 * exceptions are looked up by {@code code()}; framework exceptions by status. Server-side failures are logged
 * once here, client errors are not.
 */
@RestControllerAdvice
public class ProblemHandler {

    private static final Log log = LogFactory.getLog(ProblemHandler.class);
    private static final String UNEXPECTED = "unexpected error; see the server log";

    @ExceptionHandler(SightlineException.class)
    public ResponseEntity<ProblemDetail> sightline(SightlineException e, ServerWebExchange exchange) {
        ProblemDetail problem = problem(e);
        HttpHeaders headers = new HttpHeaders();
        // both go away by themselves: a place frees up, the first request with the key finishes
        if (ProblemType.OVERLOADED.type().equals(problem.getType())
                || ProblemType.IDEMPOTENCY_KEY_IN_USE.type().equals(problem.getType())) {
            headers.set(HttpHeaders.RETRY_AFTER, "1");
        }
        return render(problem, headers, exchange, e);
    }

    /** The problem for any failure, as this handler renders it; also the data of an SSE stream's error event. */
    static ProblemDetail problem(Throwable e) {
        if (!(e instanceof SightlineException s)) {
            return ProblemType.INTERNAL_ERROR.problem(UNEXPECTED);
        }
        ProblemType type = ProblemType.forCode(s.code());
        if (type == null) {
            log.warn("No ProblemType row for core code '" + s.code() + "'; rendered as internal-error", e);
            type = ProblemType.INTERNAL_ERROR;
        }
        ProblemDetail problem = type.problem(e.getMessage());
        if (e instanceof InvalidRequestException invalid) {
            problem.setProperty("errors", invalid.errors());
        } else if (e instanceof InvalidSetException invalid) {
            problem.setProperty("errors", invalid.errors());
        } else if (e instanceof UnknownInterventionException unknown) {
            problem.setProperty("known", unknown.known());
        } else if (e instanceof UnknownSetException unknown) {
            problem.setProperty("known", unknown.known());
        } else if (e instanceof InvalidParamsException params) {
            problem.setProperty("field", params.field());
        } else if (e instanceof RefusedRequestException refused) {
            problem.setProperty("field", refused.field());
        }
        return problem;
    }

    @ExceptionHandler(DataBufferLimitException.class)
    public ResponseEntity<ProblemDetail> tooLarge(DataBufferLimitException e, ServerWebExchange exchange) {
        return render(ProblemType.PAYLOAD_TOO_LARGE.problem("request body above the configured limit: " + e.getMessage()),
                new HttpHeaders(), exchange, e);
    }

    /** A body the codecs cannot read at all (a multipart body without a boundary, say): the client's fault. */
    @ExceptionHandler(DecodingException.class)
    public ResponseEntity<ProblemDetail> undecodable(DecodingException e, ServerWebExchange exchange) {
        return render(ProblemType.INVALID_REQUEST.problem(e.getMessage()), new HttpHeaders(), exchange, e);
    }

    @ExceptionHandler(ResponseStatusException.class)
    public ResponseEntity<ProblemDetail> framework(ResponseStatusException e, ServerWebExchange exchange) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof DataBufferLimitException limit) {
                return tooLarge(limit, exchange);
            }
        }
        ProblemType type = byStatus(e.getStatusCode());
        String detail = e.getReason() != null ? e.getReason() : e.getStatusCode().toString();
        ProblemDetail problem = type == null ? ProblemDetail.forStatusAndDetail(e.getStatusCode(), detail) : type.problem(detail);
        return render(problem, e.getHeaders(), exchange, e);
    }

    @ExceptionHandler(Exception.class)
    public ResponseEntity<ProblemDetail> unexpected(Exception e, ServerWebExchange exchange) {
        return render(problem(e), new HttpHeaders(), exchange, e);
    }

    private static ProblemType byStatus(HttpStatusCode status) {
        return switch (status.value()) {
            case 400 -> ProblemType.INVALID_REQUEST;
            case 404 -> ProblemType.NOT_FOUND;
            case 405 -> ProblemType.METHOD_NOT_ALLOWED;
            case 406 -> ProblemType.NOT_ACCEPTABLE;
            case 413 -> ProblemType.PAYLOAD_TOO_LARGE;
            case 415 -> ProblemType.UNSUPPORTED_MEDIA_TYPE;
            default -> null;
        };
    }

    /**
     * OpenAI SDKs read an error's message only from an {@code error} member (openai-node: {@code body.error.message};
     * without it the message is "422 status code (no body)"), so problems on the OpenAI-compatible paths carry one
     * beside the RFC 9457 fields.
     */
    static void addOpenAiError(ProblemDetail problem) {
        problem.setProperty("error", Map.of("message", String.valueOf(problem.getDetail()), "type", String.valueOf(problem.getType())));
    }

    /** Sets the problem's instance to {@code path}, and the OpenAI error member on the OpenAI paths. */
    static ProblemDetail forPath(ProblemDetail problem, String path) {
        problem.setInstance(URI.create(path));
        if (path.equals(ChatCompletionController.PATH) || path.equals(ChatCompletionController.MODELS)) {
            addOpenAiError(problem);
        }
        return problem;
    }

    private static ResponseEntity<ProblemDetail> render(ProblemDetail problem, HttpHeaders headers,
                                                        ServerWebExchange exchange, Exception cause) {
        forPath(problem, exchange.getRequest().getPath().value());
        if (problem.getStatus() >= 500) {
            log.error(exchange.getRequest().getMethod() + " " + exchange.getRequest().getPath() + " failed", cause);
        }
        return ResponseEntity.status(problem.getStatus()).headers(headers).body(problem);
    }
}
