package dev.serveml.http;

import dev.serveml.config.HttpConfig;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one client connection may hold: a new connection has the header timeout to deliver its
 * first request's headers (a slowloris client sending a byte a second is cut off then), a
 * keep-alive connection may wait the idle timeout between requests, and a request body that stops
 * arriving is cut off after the idle timeout too. A request whose body has arrived waits for its
 * answer as long as its own deadline says, so a slow model is not cut off. At most
 * {@code maxConnections} are open at once over all event loops; one more is closed as it arrives.
 *
 * <p>Vert.x's own idle timeout cannot do this: it counts silence in both directions, so it would
 * also cut a request whose model takes long, and a byte a second keeps it from ever firing. So
 * each event loop sweeps its connections a few times a second instead of arming a timer per
 * request: the request path only stores the request in a map.
 *
 * <p>Needs the server to start as HTTP/1.1 (no cleartext HTTP/2 upgrade): only then does Vert.x
 * hand over a connection when it is accepted rather than after its first request's headers.
 * Thread-safety: the count is shared; everything else belongs to one event loop.
 */
public final class ConnectionLimits {
    private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);
    private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final long headerTimeoutNanos;
    private final long idleTimeoutNanos;
    private final int maxConnections;
    private final long sweepMillis;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong lastRefusalLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

    public ConnectionLimits(HttpConfig config) {
        this.headerTimeoutNanos = config.headerTimeout().toNanos();
        this.idleTimeoutNanos = config.idleTimeout().toNanos();
        this.maxConnections = config.maxConnections();
        // A quarter of the shorter limit, so a connection is cut within a quarter of its limit late.
        this.sweepMillis = Math.clamp(Math.min(config.headerTimeout().toMillis(), config.idleTimeout().toMillis()) / 4,
                50, 1000);
    }

    /** Connections open now, over every event loop. */
    public int open() {
        return open.get();
    }

    /**
     * Puts the limits in front of {@code router} on one server. Call on the event loop the
     * server belongs to (from its verticle's start), before it listens.
     */
    public HttpServer guard(Vertx vertx, HttpServer server, Handler<HttpServerRequest> router) {
        Loop loop = new Loop();
        vertx.setPeriodic(sweepMillis, id -> loop.sweep());
        return server.connectionHandler(loop::connected).requestHandler(request -> {
            loop.requested(request);
            router.handle(request);
        });
    }

    /** One connection's progress; read and written on its event loop only. */
    private static final class Held {
        /** The latest request on the connection, or null before the first one's headers. */
        HttpServerRequest request;
        /** What the connection was last seen doing (request, phase, body bytes), and since when. */
        HttpServerRequest seenRequest;
        int seenPhase;
        long seenBytes;
        long since;

        Held(long acceptedAt) {
            this.since = acceptedAt;
        }
    }

    private static final int IDLE = 1;
    private static final int RECEIVING = 2;

    /** The connections of one event loop. */
    private final class Loop {
        private final Map<HttpConnection, Held> held = new HashMap<>();

        void connected(HttpConnection connection) {
            if (open.incrementAndGet() > maxConnections) {
                open.decrementAndGet();
                refuse(connection);
                return;
            }
            held.put(connection, new Held(System.nanoTime()));
            connection.closeHandler(v -> {
                if (held.remove(connection) != null) {
                    open.decrementAndGet();
                }
            });
        }

        void requested(HttpServerRequest request) {
            Held h = held.get(request.connection());
            if (h != null) {
                h.request = request;
            }
        }

        void sweep() {
            long now = System.nanoTime();
            List<HttpConnection> expired = null;
            for (Map.Entry<HttpConnection, Held> e : held.entrySet()) {
                if (expired(e.getValue(), now)) {
                    if (expired == null) {
                        expired = new ArrayList<>();
                    }
                    expired.add(e.getKey());
                }
            }
            if (expired != null) {
                // Closed outside the loop above: a close handler may run at once and edit the map.
                expired.forEach(HttpConnection::close);
            }
        }

        private boolean expired(Held h, long now) {
            HttpServerRequest r = h.request;
            if (r == null) {
                return now - h.since > headerTimeoutNanos; // still no complete request head
            }
            int phase;
            long bytes = 0;
            if (r.response().ended()) {
                phase = IDLE; // answered: waiting for the next request's headers
            } else if (!r.isEnded()) {
                phase = RECEIVING; // progress is the body's bytes
                bytes = r.bytesRead();
            } else {
                return false; // the body is in and the answer is being worked on: its deadline bounds it
            }
            if (r != h.seenRequest || phase != h.seenPhase || bytes != h.seenBytes) {
                h.seenRequest = r;
                h.seenPhase = phase;
                h.seenBytes = bytes;
                h.since = now;
                return false;
            }
            return now - h.since > idleTimeoutNanos;
        }
    }

    private void refuse(HttpConnection connection) {
        long total = refused.incrementAndGet();
        long now = System.nanoTime();
        long last = lastRefusalLog.get();
        if (now - last >= LOG_EVERY_NANOS && lastRefusalLog.compareAndSet(last, now)) {
            log.warn("closed a new connection from {}: {} are open, the most allowed (SERVEML_HTTP_MAX_CONNECTIONS); "
                    + "{} refused so far", connection.remoteAddress(), maxConnections, total);
        }
        connection.close();
    }
}
