package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** Reading JSON bodies and writing JSON answers with one shared {@link ObjectMapper}. */
final class Responses {
    /**
     * Model answers whose smallest encoding (a floor, see {@code TensorJson.nestedJsonFloor}) is at
     * least this are encoded on a worker thread: about 16k elements, a millisecond or more of
     * Jackson on the event loop, which every other request on that loop would wait for.
     */
    static final long OFF_LOOP_FLOOR_BYTES = 16 * 1024;

    /** Writes one JSON document. */
    interface JsonWriter {
        void write(JsonGenerator g) throws IOException;
    }

    private final ObjectMapper json;
    private final ObjectReader trees; // the mapper looks its tree deserializer up on every readTree; this holds it
    private final Vertx vertx;
    private final long maxResponseBytes;

    /** @param maxResponseBytes the largest model answer sent ({@code SERVEML_MAX_RESPONSE_SIZE}) */
    Responses(ObjectMapper json, Vertx vertx, long maxResponseBytes) {
        this.json = json;
        this.trees = json.readerFor(JsonNode.class);
        this.vertx = vertx;
        this.maxResponseBytes = maxResponseBytes;
    }

    long maxResponseBytes() {
        return maxResponseBytes;
    }

    /**
     * Encodes a model's answer and sends it. When even its smallest encoding ({@code floorBytes})
     * is past the bound, it is the {@code output-too-large} problem and nothing is encoded; when
     * it is large, it is encoded on a worker thread, off the event loop. A failure while encoding
     * (the real bytes passing the bound, say) goes to the problem mapper.
     *
     * @param encode builds the body; must itself hold the bound on the bytes it writes
     * @param send   sends the encoded body, on the request's event loop
     */
    <T> void answer(RoutingContext ctx, long floorBytes, Supplier<T> encode, Consumer<T> send) {
        if (floorBytes > maxResponseBytes) {
            ctx.fail(tooLarge(maxResponseBytes));
            return;
        }
        if (floorBytes < OFF_LOOP_FLOOR_BYTES) {
            T body;
            try {
                body = encode.get();
            } catch (RuntimeException e) {
                ctx.fail(e);
                return;
            }
            send.accept(body);
            return;
        }
        vertx.executeBlocking(encode::get, false).onSuccess(send::accept).onFailure(ctx::fail);
    }

    /** {@link #answer} for a JSON answer written by {@code writer}, sent with status 200. */
    void sendAnswer(RoutingContext ctx, long floorBytes, JsonWriter writer) {
        answer(ctx, floorBytes, () -> write(writer, maxResponseBytes),
                body -> ctx.response().setStatusCode(200).putHeader(CONTENT_TYPE, APPLICATION_JSON).end(body));
    }

    /** The problem of an answer past the bound. */
    static ProblemException tooLarge(long limit) {
        return new ProblemException(ProblemType.OUTPUT_TOO_LARGE, "the model's answer is larger than this server "
                + "sends (" + limit + " bytes, SERVEML_MAX_RESPONSE_SIZE); send fewer rows per request, or ask the "
                + "V2 protocol for fewer outputs");
    }

    /** Bytes in memory that refuse to grow past a bound: an encoder stops as soon as it passes it. */
    static final class BoundedBuffer extends ByteArrayOutputStream {
        private final long limit;

        BoundedBuffer(int initial, long limit) {
            super(initial);
            this.limit = limit;
        }

        @Override
        public void write(int b) {
            require(1);
            super.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            require(len);
            super.write(b, off, len);
        }

        private void require(int more) {
            if (count + (long) more > limit) {
                throw tooLarge(limit);
            }
        }
    }

    Vertx vertx() {
        return vertx;
    }

    /**
     * Runs blocking work (database, files) on a worker thread, unordered, and answers with
     * {@code onSuccess} on the event loop; a failure goes to the problem mapper.
     */
    <T> void blocking(RoutingContext ctx, Callable<T> work, Consumer<T> onSuccess) {
        vertx.executeBlocking(work, false).onSuccess(onSuccess::accept).onFailure(ctx::fail);
    }

    /**
     * Decodes the request body and hands it to {@code then} on the request's event loop. A small
     * body (most are a few hundred bytes) is decoded inline, where a hop to a worker would cost
     * more than the parse; a large one (up to SERVEML_MAX_REQUEST_SIZE, 16 MB by default) on a
     * worker, unordered, so that parsing it never holds the event loop and the other connections
     * on it. A decoding failure goes to the problem mapper either way.
     */
    <T> void decoded(RoutingContext ctx, Supplier<T> decode, Consumer<T> then) {
        if (HttpApi.isSmall(ctx)) {
            then.accept(decode.get());
            return;
        }
        vertx.executeBlocking(decode::get, false).onSuccess(body -> {
            try {
                then.accept(body);
            } catch (RuntimeException e) {
                // Inline, a handler's throw reaches the route's failure handler; from a callback it must be sent there.
                ctx.fail(e);
            }
        }).onFailure(ctx::fail);
    }

    /** The request body as JSON (the route has a body handler). */
    JsonNode jsonBody(RoutingContext ctx) {
        Buffer body = ctx.body().buffer();
        byte[] bytes = body == null ? new byte[0] : body.getBytes();
        return readTree(bytes, 0, bytes.length);
    }

    ObjectMapper mapper() {
        return json;
    }

    Buffer write(JsonWriter writer) {
        return write(writer, Long.MAX_VALUE);
    }

    /** @throws ProblemException {@code output-too-large} when the document passes {@code limit} bytes */
    Buffer write(JsonWriter writer, long limit) {
        ByteArrayOutputStream out = new BoundedBuffer(512, limit);
        try (JsonGenerator g = json.getFactory().createGenerator(out)) {
            writer.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Buffer.buffer(out.toByteArray());
    }

    void send(RoutingContext ctx, int status, JsonWriter writer) {
        Buffer body = write(writer);
        ctx.response().setStatusCode(status).putHeader(CONTENT_TYPE, APPLICATION_JSON).end(body);
    }

    /** Pre-encoded header name and value: plain strings are validated and encoded on every answer. */
    static final CharSequence CONTENT_TYPE = io.vertx.core.http.HttpHeaders.CONTENT_TYPE;
    static final CharSequence APPLICATION_JSON = io.vertx.core.http.HttpHeaders.createOptimized("application/json");

    void sendValue(RoutingContext ctx, int status, Object value) {
        send(ctx, status, g -> json.writeValue(g, value));
    }

    /** Parses a JSON body; an empty or malformed one is the {@code malformed-json} problem. */
    JsonNode readTree(byte[] bytes, int offset, int length) {
        if (length == 0) {
            throw new ProblemException(ProblemType.MALFORMED_JSON, "the request body is empty; send a JSON object");
        }
        try {
            JsonNode node = trees.readTree(bytes, offset, length);
            if (node == null || node.isMissingNode()) {
                throw new ProblemException(ProblemType.MALFORMED_JSON, "the request body is empty; send a JSON object");
            }
            return node;
        } catch (IOException e) {
            String reason = e instanceof com.fasterxml.jackson.core.JsonProcessingException jp
                    ? jp.getOriginalMessage() : "unreadable";
            String where = e instanceof com.fasterxml.jackson.core.JsonProcessingException jp && jp.getLocation() != null
                    ? " at line " + jp.getLocation().getLineNr() + ", column " + jp.getLocation().getColumnNr() : "";
            throw new ProblemException(ProblemType.MALFORMED_JSON, "the request body is not valid JSON" + where
                    + ": " + reason);
        }
    }
}
