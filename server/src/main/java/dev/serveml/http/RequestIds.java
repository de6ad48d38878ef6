package dev.serveml.http;

import io.vertx.ext.web.RoutingContext;

import java.util.regex.Pattern;

/** Every request gets an id: the client's {@code X-Request-Id} when it is sane, otherwise a new one. */
final class RequestIds {
    static final String HEADER = "X-Request-Id";
    private static final CharSequence HEADER_NAME = io.vertx.core.http.HttpHeaders.createOptimized(HEADER);
    private static final String KEY = "serveml.requestId";
    private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    private RequestIds() {
    }

    /** Gives the request its id (and the answer its header); the router's first handler calls it. */
    static void assign(RoutingContext ctx) {
        String given = ctx.request().getHeader(HEADER_NAME);
        String id = given != null && SANE.matcher(given).matches() ? given : newId();
        ctx.put(KEY, id);
        ctx.response().putHeader(HEADER_NAME, id);
    }

    /** A new id ({@link dev.serveml.inference.RequestId#random}). */
    static String newId() {
        return dev.serveml.inference.RequestId.random();
    }

    static String of(RoutingContext ctx) {
        String id = ctx.get(KEY);
        return id == null ? "unknown" : id;
    }
}
