package dev.serveml.http;

import io.vertx.ext.web.RoutingContext;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
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

    /**
     * A random (version 4) UUID, as {@link UUID#randomUUID} makes, from {@link ThreadLocalRandom}:
     * randomUUID draws on one SecureRandom that every event loop shares, a lock and a read of the
     * kernel's pool per request (3% of the event loops' time under load). An id only labels logs
     * and problem reports; it is no secret (a client may name its own) and only needs to be unique.
     */
    static String newId() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // the IETF variant
        return new UUID(high, low).toString();
    }

    static String of(RoutingContext ctx) {
        String id = ctx.get(KEY);
        return id == null ? "unknown" : id;
    }
}
