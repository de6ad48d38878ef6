package dev.serveml.http;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Server-Sent Events response written from a model's own thread as it generates (a streamed
 * completion): {@link #send} hands each event to the request's event loop and says whether the
 * client is still there, so that the generator stops a row whose client went away. A client that
 * stops reading is not waited for (the model's step is shared by every sequence in flight): once
 * more than {@link #MAX_BACKLOG} bytes wait unsent its connection is closed and the row ends.
 * The 200 and its headers go with the first event, so a request refused before its first token
 * (a prompt over the context, a rate limit) still gets its problem answer: {@link #onLoop} and
 * {@link #started} tell a route which it is. Create it on the request's event loop; {@link #send}
 * and {@link #end} from any thread.
 */
final class LiveEvents {
    /** Unsent bytes a client that does not read may hold before it is dropped. */
    static final int MAX_BACKLOG = 1 << 20;

    private final HttpServerResponse response;
    private final Context context;
    private final AtomicBoolean gone = new AtomicBoolean();
    private long backlog; // these two on the event loop only
    private boolean started;

    LiveEvents(RoutingContext ctx) {
        this.response = ctx.response();
        this.context = Vertx.currentContext();
        if (context == null) {
            throw new IllegalStateException("create a LiveEvents on the request's event loop");
        }
        response.closeHandler(v -> gone.set(true));
        ctx.request().connection().shutdownHandler(v -> gone.set(true));
    }

    /** Runs {@code task} on the request's event loop, after every event sent before. */
    void onLoop(Runnable task) {
        context.runOnContext(v -> task.run());
    }

    /** Whether the 200 has gone (an event was written). On the event loop. */
    boolean started() {
        return started;
    }

    private void start() {
        started = true;
        response.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
                .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
        response.write(Buffer.buffer(": stream\n\n"));
    }

    /** Whether the client is still reading. */
    boolean open() {
        return !gone.get();
    }

    /**
     * Sends {@code data: <json>} (one event). Never blocks.
     *
     * @return false when the client has gone or was dropped for not reading: stop generating for it
     */
    boolean send(String json) {
        if (gone.get()) {
            return false;
        }
        Buffer event = Buffer.buffer("data: " + json + "\n\n");
        context.runOnContext(v -> write(event));
        return !gone.get();
    }

    private void write(Buffer event) {
        if (gone.get() || response.ended() || response.closed()) {
            gone.set(true);
            return;
        }
        if (!started) {
            start();
        }
        backlog = response.writeQueueFull() ? backlog + event.length() : 0;
        if (backlog > MAX_BACKLOG) {
            gone.set(true);
            response.reset(); // a client that stopped reading holds no memory of ours
            return;
        }
        response.write(event);
    }

    /** Sends the last events (as {@link #send} would; may be none) and ends the response. Any thread. */
    void end(String... lastJson) {
        context.runOnContext(v -> {
            for (String json : lastJson) {
                write(Buffer.buffer("data: " + json + "\n\n"));
            }
            if (!response.ended() && !response.closed()) {
                if (!started) {
                    start();
                }
                response.end();
            }
        });
    }

    /** Ends the response after raw text (OpenAI's {@code data: [DONE]}), on the event loop. */
    void endWith(String raw) {
        context.runOnContext(v -> {
            if (!response.ended() && !response.closed()) {
                if (!started) {
                    start();
                }
                response.end(raw);
            }
        });
    }
}
