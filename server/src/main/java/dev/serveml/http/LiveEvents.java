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
    private final Outbox outbox;
    private final AtomicBoolean gone = new AtomicBoolean();
    private long backlog; // these two on the event loop only
    private boolean started;

    LiveEvents(RoutingContext ctx) {
        this.response = ctx.response();
        Context context = Vertx.currentContext();
        if (context == null) {
            throw new IllegalStateException("create a LiveEvents on the request's event loop");
        }
        this.outbox = Outbox.of(context);
        response.closeHandler(v -> gone.set(true));
        ctx.request().connection().shutdownHandler(v -> gone.set(true));
    }

    /** Runs {@code task} on the request's event loop, after every event sent before. */
    void onLoop(Runnable task) {
        outbox.post(task);
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
     * Hands the events {@link #send} queued to the event loop (one wake-up for a model step's
     * events, whichever streams of this loop they are for). Any thread; never blocks.
     */
    void flush() {
        outbox.schedule();
    }

    /**
     * Queues {@code data: <json>} (one event), written once {@link #flush} (or anything else this
     * stream sends) hands it over. Never blocks.
     *
     * @return false when the client has gone or was dropped for not reading: stop generating for it
     */
    boolean send(String json) {
        if (gone.get()) {
            return false;
        }
        Buffer event = Buffer.buffer("data: " + json + "\n\n");
        outbox.add(() -> write(event));
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
        outbox.post(() -> {
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
        outbox.post(() -> {
            if (!response.ended() && !response.closed()) {
                if (!started) {
                    start();
                }
                response.end(raw);
            }
        });
    }

    /**
     * What a model's thread hands one event loop, in order, with one wake-up for everything posted
     * before the loop gets to it: a model step that feeds sixteen streams on the same loop wakes it
     * once, not sixteen times (a wake-up is a system call on each side). One per event-loop
     * context, kept in its data; tasks run on that context.
     */
    private static final class Outbox {
        private static final Object KEY = new Object();
        private final Context context;
        private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> tasks =
                new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final AtomicBoolean scheduled = new AtomicBoolean();

        private Outbox(Context context) {
            this.context = context;
        }

        /** The context's outbox; on that context's thread, which alone creates it. */
        static Outbox of(Context context) {
            Outbox box = context.get(KEY);
            if (box == null) {
                box = new Outbox(context);
                context.put(KEY, box);
            }
            return box;
        }

        /** Queues a task and hands everything queued to the loop. */
        void post(Runnable task) {
            tasks.add(task);
            schedule();
        }

        /** Queues a task for the next hand-over. */
        void add(Runnable task) {
            tasks.add(task);
        }

        void schedule() {
            if (!tasks.isEmpty() && scheduled.compareAndSet(false, true)) {
                context.runOnContext(v -> drain());
            }
        }

        private void drain() {
            scheduled.set(false);
            for (Runnable task; (task = tasks.poll()) != null; ) {
                try {
                    task.run();
                } catch (RuntimeException e) { // one stream's failure leaves the others' events to go
                    org.slf4j.LoggerFactory.getLogger(LiveEvents.class).warn("a stream's event failed", e);
                }
            }
        }
    }
}
