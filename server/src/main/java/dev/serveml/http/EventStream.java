package dev.serveml.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * One subscriber's Server-Sent Events stream of something that settles (a deployment's rollout, a
 * Hub import): the past events, then live ones, ending once the latest is settled. Live events
 * that arrive before the past ones are read are held and merged in id order; a
 * {@code Last-Event-ID} skips what a reconnecting client has seen. Used on its request's event
 * loop only.
 *
 * @param <E> the event
 */
final class EventStream<E> {
    /** How a kind of event is streamed. */
    record Kind<E>(ToLongFunction<E> id, Function<E, String> name, Function<E, Buffer> data,
                   Predicate<E> settled, String waiting) {
    }

    private final HttpServerResponse response;
    private final Kind<E> kind;
    private final List<E> early = new ArrayList<>();
    private long lastSent;
    private boolean replayed;
    private boolean closed;
    private Runnable onClose = () -> { };

    EventStream(RoutingContext ctx, Kind<E> kind) {
        this.response = ctx.response();
        this.kind = kind;
        this.lastSent = lastEventId(ctx);
    }

    private static long lastEventId(RoutingContext ctx) {
        try {
            String h = ctx.request().getHeader("Last-Event-ID");
            return h == null ? 0 : Long.parseLong(h.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Ends the stream when the client goes away or the server stops (a stopping server ends it
     * rather than holding its stop until the timeout; the client reconnects with Last-Event-ID and
     * misses nothing), running {@code unwatch} then.
     */
    void closeWith(RoutingContext ctx, Runnable unwatch) {
        this.onClose = unwatch;
        ctx.response().closeHandler(v -> close());
        ctx.request().connection().shutdownHandler(v -> close());
    }

    void replay(List<E> past) {
        if (closed) {
            return;
        }
        response.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream")
                .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
        List<E> all = new ArrayList<>(past);
        all.addAll(early);
        all.sort(Comparator.comparingLong(kind.id()));
        replayed = true;
        E last = null;
        for (E e : all) {
            if (write(e)) {
                last = e;
            }
        }
        if (last == null && !all.isEmpty()) {
            last = all.get(all.size() - 1);
        }
        if (last != null && kind.settled().test(last)) {
            close();
        } else {
            response.write(": " + kind.waiting() + "\n\n");
        }
    }

    void live(E e) {
        if (closed) {
            return;
        }
        if (!replayed) {
            early.add(e);
            return;
        }
        if (write(e) && kind.settled().test(e)) {
            close();
        }
    }

    private boolean write(E e) {
        long id = kind.id().applyAsLong(e);
        if (id <= lastSent) {
            return false;
        }
        lastSent = id;
        response.write("id: " + id + "\nevent: " + kind.name().apply(e) + "\ndata: " + kind.data().apply(e) + "\n\n");
        return true;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        onClose.run();
        if (!response.ended() && !response.closed()) {
            response.end();
        }
    }
}
