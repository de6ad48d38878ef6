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

/** Reading JSON bodies and writing JSON answers with one shared {@link ObjectMapper}. */
final class Responses {
    /** Writes one JSON document. */
    interface JsonWriter {
        void write(JsonGenerator g) throws IOException;
    }

    private final ObjectMapper json;
    private final ObjectReader trees; // the mapper looks its tree deserializer up on every readTree; this holds it
    private final Vertx vertx;

    Responses(ObjectMapper json, Vertx vertx) {
        this.json = json;
        this.trees = json.readerFor(JsonNode.class);
        this.vertx = vertx;
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
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
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
