package io.sightline.api;

import java.net.URI;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;

/**
 * The one table from a core {@code code()} to an RFC 9457 problem type and HTTP status. A new
 * {@link io.sightline.engine.SightlineException} subclass needs a row here, never a new catch block.
 * Type URIs are stable: clients switch on them, so a row may be added but never renamed.
 */
public enum ProblemType {
    INVALID_REQUEST("invalid-request", HttpStatus.BAD_REQUEST, "Invalid request"),
    UNSUPPORTED_MEDIA_TYPE("unsupported-media-type", HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
    PAYLOAD_TOO_LARGE("payload-too-large", HttpStatus.CONTENT_TOO_LARGE, "Payload too large"),
    IMAGE_TOO_LARGE("image-too-large", HttpStatus.UNPROCESSABLE_CONTENT, "Image has too many pixels"),
    INVALID_IMAGE("invalid-image", HttpStatus.UNPROCESSABLE_CONTENT, "Image cannot be decoded"),
    UNKNOWN_INTERVENTION("unknown-intervention", HttpStatus.UNPROCESSABLE_CONTENT, "Unknown intervention"),
    INVALID_PARAMS("invalid-params", HttpStatus.UNPROCESSABLE_CONTENT, "Invalid parameters"),
    CONTROL_CONFLICT("control-conflict", HttpStatus.UNPROCESSABLE_CONTENT, "Interventions conflict"),
    // chat completions (OpenAI's request shape asks for more than this model and service take)
    IMAGE_URL_REFUSED("image-url-refused", HttpStatus.UNPROCESSABLE_CONTENT, "Image URLs are not fetched"),
    TOO_MANY_IMAGES("too-many-images", HttpStatus.UNPROCESSABLE_CONTENT, "Too many images"),
    UNSUPPORTED_CONVERSATION("unsupported-conversation", HttpStatus.UNPROCESSABLE_CONTENT, "Conversation not supported"),
    IDEMPOTENCY_KEY_REUSED("idempotency-key-reused", HttpStatus.UNPROCESSABLE_CONTENT,
            "Idempotency key used with another request"),
    IDEMPOTENCY_KEY_IN_USE("idempotency-key-in-use", HttpStatus.CONFLICT, "Request with this idempotency key in progress"),
    UNAUTHORIZED("unauthorized", HttpStatus.UNAUTHORIZED, "Unauthorized"),
    FORBIDDEN("forbidden", HttpStatus.FORBIDDEN, "Forbidden"),
    UNKNOWN_MODEL("unknown-model", HttpStatus.NOT_FOUND, "Unknown model"),
    UNKNOWN_SET("unknown-set", HttpStatus.UNPROCESSABLE_CONTENT, "Unknown benchmark set"),
    INVALID_SET("invalid-set", HttpStatus.UNPROCESSABLE_CONTENT, "Uploaded benchmark set refused"),
    NOT_FOUND("not-found", HttpStatus.NOT_FOUND, "Not found"),
    INVALID_STATE("invalid-state", HttpStatus.CONFLICT, "Not possible in the resource's current state"),
    METHOD_NOT_ALLOWED("method-not-allowed", HttpStatus.METHOD_NOT_ALLOWED, "Method not allowed"),
    NOT_ACCEPTABLE("not-acceptable", HttpStatus.NOT_ACCEPTABLE, "Not acceptable"),
    OVERLOADED("overloaded", HttpStatus.TOO_MANY_REQUESTS, "Too many generations in flight"),
    // the client is usually gone when this is rendered; a server-side cancellation reads as unavailable
    CANCELLED("cancelled", HttpStatus.SERVICE_UNAVAILABLE, "Generation cancelled"),
    TIMEOUT("timeout", HttpStatus.GATEWAY_TIMEOUT, "Generation timed out"),
    ENGINE_FAILURE("engine-failure", HttpStatus.INTERNAL_SERVER_ERROR, "Inference failed"),
    INTERNAL_ERROR("internal-error", HttpStatus.INTERNAL_SERVER_ERROR, "Internal error");

    public static final String BASE = "https://sightline.dev/problems/";

    private static final Map<String, ProblemType> BY_CODE = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(ProblemType::code, Function.identity()));

    private final String code;
    private final HttpStatus status;
    private final String title;

    ProblemType(String code, HttpStatus status, String title) {
        this.code = code;
        this.status = status;
        this.title = title;
    }

    /** The row for a core code, or null when the table lacks it. */
    public static ProblemType forCode(String code) {
        return BY_CODE.get(code);
    }

    public String code() {
        return code;
    }

    public HttpStatus status() {
        return status;
    }

    public URI type() {
        return URI.create(BASE + code);
    }

    public ProblemDetail problem(String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(type());
        problem.setTitle(title);
        return problem;
    }
}
