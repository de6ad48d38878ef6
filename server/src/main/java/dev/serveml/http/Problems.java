package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.util.List;

/**
 * The one mapper from failures to answers: RFC 9457 {@code application/problem+json} on every
 * route, except the Open Inference Protocol routes ({@code /v2}) which answer the protocol's
 * {@code {"error": "..."}}, and the OpenAI-compatible routes ({@code /v1}) which answer OpenAI's
 * {@code {"error": {"message", "type", "param", "code"}}}, so that OpenAI's clients raise their own errors. Unknown exceptions become a generic 500, logged once with the
 * request id; their messages never reach the client.
 */
final class Problems {
    private static final Logger log = LoggerFactory.getLogger(Problems.class);

    private final Responses responses;

    Problems(Responses responses) {
        this.responses = responses;
    }

    /** Router failure handler: a failed context (exception or bare status) becomes an answer. */
    void handleFailure(RoutingContext ctx) {
        if (ctx.response().headWritten()) {
            if (ctx.failure() != null) {
                logUnexpected(ctx, ctx.failure());
            }
            ctx.response().reset();
            return;
        }
        Throwable failure = ctx.failure();
        ProblemException problem = failure == null ? fromStatus(ctx.statusCode()) : toProblem(ctx, failure);
        send(ctx, problem);
    }

    ProblemException toProblem(RoutingContext ctx, Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof java.util.concurrent.CompletionException
                || cause instanceof java.util.concurrent.ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof ProblemException p) {
            // An unreachable database is logged once by its watcher, not on every refused request.
            if (p.type().status() >= 500 && p.getCause() != null && p.type() != ProblemType.DATABASE_UNAVAILABLE) {
                logUnexpected(ctx, p.getCause());
            }
            return p;
        }
        if (cause instanceof io.vertx.ext.web.handler.HttpException http) {
            return fromStatus(http.getStatusCode());
        }
        logUnexpected(ctx, cause);
        return new ProblemException(ProblemType.INTERNAL, "the server failed to handle this request; "
                + "quote request id " + RequestIds.of(ctx) + " when reporting it");
    }

    private static ProblemException fromStatus(int status) {
        return switch (status) {
            case 404 -> new ProblemException(ProblemType.ROUTE_NOT_FOUND, "no such resource; see /openapi.json");
            case 405 -> new ProblemException(ProblemType.METHOD_NOT_ALLOWED,
                    "this resource does not accept this method; see /openapi.json");
            case 413 -> new ProblemException(ProblemType.UPLOAD_TOO_LARGE, "the request body is larger than "
                    + "this server accepts");
            case 415 -> new ProblemException(ProblemType.UNSUPPORTED_MEDIA_TYPE, "unsupported Content-Type");
            case 400 -> new ProblemException(ProblemType.INVALID_REQUEST, "the request could not be read");
            case 503 -> new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "try again shortly");
            default -> new ProblemException(ProblemType.INTERNAL, "the server failed to handle this request");
        };
    }

    void send(RoutingContext ctx, ProblemException problem) {
        HttpServerResponse response = ctx.response();
        if (!ctx.request().isEnded()) {
            // A refused request may still be paused mid-body (access checks hold it): let the rest drain.
            ctx.request().resume();
        }
        ProblemType type = problem.type();
        // OpenAI answers every invalid request 400; its clients read 422 as another kind of error.
        response.setStatusCode(isOpenAi(ctx) ? openAiStatus(type) : type.status());
        if (type.retryable()) {
            response.putHeader("Retry-After", Long.toString(problem.retryAfterSeconds() > 0
                    ? problem.retryAfterSeconds() : 1));
        }
        if (type.status() == 401) {
            response.putHeader("WWW-Authenticate", "Bearer realm=\"serveml\"");
        }
        if (isProtocolV2(ctx)) {
            response.putHeader("Content-Type", "application/json");
            response.end(responses.write(g -> {
                g.writeStartObject();
                // The protocol's error is one string: a field problem names its field in it.
                List<ProblemException.FieldError> fields = problem.errors();
                g.writeStringField("error", fields.size() == 1 && !problem.detail().startsWith(fields.get(0).pointer())
                        ? fields.get(0).pointer() + ": " + problem.detail() : problem.detail());
                g.writeEndObject();
            }));
            return;
        }
        if (isOpenAi(ctx)) {
            response.putHeader("Content-Type", "application/json");
            response.end(responses.write(g -> writeOpenAi(g, problem)));
            return;
        }
        response.putHeader("Content-Type", "application/problem+json");
        response.end(responses.write(g -> write(g, problem, ctx.request().path(), RequestIds.of(ctx))));
    }

    /** The RFC 9457 problem body for a problem met at {@code instance} (a path) by request {@code requestId}. */
    static void write(JsonGenerator g, ProblemException problem, String instance, String requestId)
            throws java.io.IOException {
        ProblemType type = problem.type();
        g.writeStartObject();
        g.writeStringField("type", type.typeUri());
        g.writeStringField("title", type.title());
        g.writeNumberField("status", type.status());
        g.writeStringField("detail", problem.detail());
        g.writeStringField("instance", instance);
        g.writeStringField("code", type.code());
        g.writeStringField("requestId", requestId);
        g.writeBooleanField("retryable", type.retryable());
        List<ProblemException.FieldError> errors = problem.errors();
        if (!errors.isEmpty()) {
            g.writeArrayFieldStart("errors");
            for (ProblemException.FieldError e : errors) {
                g.writeStartObject();
                g.writeStringField("pointer", e.pointer());
                g.writeStringField("message", e.message());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    static boolean isProtocolV2(RoutingContext ctx) {
        String path = ctx.request().path();
        return path != null && (path.equals("/v2") || path.startsWith("/v2/"));
    }

    static boolean isOpenAi(RoutingContext ctx) {
        String path = ctx.request().path();
        return path != null && (path.equals("/v1") || path.startsWith("/v1/"));
    }

    /** The status a /v1 route answers a problem with: OpenAI answers every invalid request 400. */
    static int openAiStatus(ProblemType type) {
        return type.status() == 422 ? 400 : type.status();
    }

    /** OpenAI's error body, {@code {"error": {message, type, param, code}}}, for a problem. */
    static void writeOpenAi(JsonGenerator g, ProblemException problem) throws java.io.IOException {
        List<ProblemException.FieldError> fields = problem.errors();
        g.writeStartObject();
        g.writeObjectFieldStart("error");
        g.writeStringField("message", problem.detail());
        g.writeStringField("type", openAiType(problem.type()));
        if (fields.isEmpty()) {
            g.writeNullField("param");
        } else {
            g.writeStringField("param", openAiParam(fields.get(0).pointer()));
        }
        // ServeML's stable code, where OpenAI puts its own (model_not_found, ...).
        g.writeStringField("code", problem.type().code());
        g.writeEndObject();
        g.writeEndObject();
    }

    /** OpenAI's error type for a problem, by its status as OpenAI's API assigns them. */
    static String openAiType(ProblemType type) {
        int status = type.status();
        return switch (status) {
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 429 -> "rate_limit_error";
            default -> status >= 500 ? "server_error" : "invalid_request_error";
        };
    }

    /** A field pointer ({@code /input/1}) as OpenAI names a parameter ({@code input.1}). */
    static String openAiParam(String pointer) {
        String p = pointer.startsWith("/") ? pointer.substring(1) : pointer;
        return p.replace('/', '.');
    }

    private static void logUnexpected(RoutingContext ctx, Throwable t) {
        MDC.put("requestId", RequestIds.of(ctx));
        try {
            log.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), t);
        } finally {
            MDC.remove("requestId");
        }
    }

    /**
     * A problem kept from earlier (a stored import's or job's), as the API shows it inside another
     * document: type (from the code; {@code internal-error}'s for a code no longer known), title,
     * status, detail, code. Null for none.
     */
    static java.util.Map<String, Object> stored(String code, int status, String title, String detail) {
        if (code == null) {
            return null;
        }
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("type", ProblemType.byCode(code).orElse(ProblemType.INTERNAL).typeUri());
        m.put("title", title);
        m.put("status", status);
        m.put("detail", detail);
        m.put("code", code);
        return m;
    }
}
