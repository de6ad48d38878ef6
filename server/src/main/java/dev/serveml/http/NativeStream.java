package dev.serveml.http;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.inference.InferenceResult;
import dev.serveml.problem.ProblemException;
import dev.serveml.runtime.TokenSink;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The native route's {@code "stream": true} for a text-generation model, in text-generation-inference's
 * Server-Sent Events shape: one {@code data: {"token": {"id", "text", "logprob", "special"},
 * "generated_text": null, "details": null}} per token, the last one with the whole
 * {@code generated_text} (as the non-streamed answer has it: the prompt first unless
 * {@code return_full_text} is false) and {@code details} {@code {"finish_reason", "generated_tokens",
 * "prompt_tokens"}} (TGI's reasons: {@code length}, {@code eos_token}, {@code stop_sequence}).
 * A token's {@code text} is what it added to the answer, so the texts of the tokens that are not
 * {@code special} (the end-of-sequence one is) add up to the generated text. Its {@code logprob} is
 * null unless the call asked for the generator's {@code logprobs} (then TGI's {@code top_tokens} too,
 * as many as asked).
 *
 * <p>Each token is sent as it comes; the last (the generator says which) is held for the answer,
 * which follows it at once, so that its event carries {@code generated_text} as TGI's last does.
 * A failure before anything was sent is the route's usual problem answer; after, TGI's error event
 * {@code {"error", "error_type"}} ends the stream.
 */
final class NativeStream implements TokenSink {
    private static final Logger log = LoggerFactory.getLogger(NativeStream.class);

    private final LiveEvents live;
    /** The row's last token, sent with the answer; the model's thread writes it, the end reads it after. */
    private volatile Token held;

    NativeStream(LiveEvents live) {
        this.live = live;
    }

    @Override
    public void flush() {
        if (live != null) {
            live.flush();
        }
    }

    @Override
    public boolean token(int row, Token token) {
        if (token.last()) {
            held = token; // goes with the answer, a moment later
            return live.open();
        }
        return live.send(event(token).toString());
    }

    /** Sends the last token with the answer and ends the stream. On the event loop. */
    void finish(InferenceResult result) {
        Map<String, Output> outputs = result.outputs();
        Token last = held;
        held = null;
        ObjectNode event = last == null ? JsonNodeFactory.instance.objectNode().putNull("token") : event(last);
        event.put("generated_text", text(outputs, "generated_text"));
        ObjectNode details = event.putObject("details");
        details.put("finish_reason", switch (text(outputs, "finish_reason")) {
            case "eos" -> "eos_token";
            case "stop" -> "stop_sequence";
            case String other -> other;
        });
        details.put("generated_tokens", count(outputs, "completion_tokens"));
        details.put("prompt_tokens", count(outputs, "prompt_tokens"));
        live.end(event.toString());
    }

    /**
     * Ends a stream that failed: with TGI's error event where tokens were sent, else through
     * {@code refuse} (the route's problem answer). On the event loop.
     */
    void fail(Throwable failure, String requestId, java.util.function.Consumer<Throwable> refuse) {
        Token last = held;
        held = null;
        if (last != null) {
            live.send(event(last).toString());
        }
        live.onLoop(() -> {
            if (!live.started()) {
                refuse.accept(failure);
                return;
            }
            Throwable cause = failure;
            while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            ObjectNode error = JsonNodeFactory.instance.objectNode();
            if (cause instanceof ProblemException p) {
                error.put("error", p.detail()).put("error_type", p.type().code());
            } else {
                log.error("a stream failed after its first token (request {})", requestId, cause);
                error.put("error", "the generation failed; quote request id " + requestId + " when reporting it")
                        .put("error_type", "internal");
            }
            live.end(error.toString());
        });
    }

    private static ObjectNode event(Token token) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        ObjectNode t = event.putObject("token");
        t.put("id", token.id());
        t.put("text", token.eos() ? token.piece() : token.delta());
        if (Double.isNaN(token.logprob())) {
            t.putNull("logprob");
        } else {
            t.put("logprob", token.logprob());
        }
        t.put("special", token.eos());
        if (!token.top().isEmpty()) {
            // TGI's top_n_tokens: the likeliest tokens at this step, best first
            var top = event.putArray("top_tokens");
            for (Alternative a : token.top()) {
                top.addObject().put("id", a.id()).put("text", a.piece()).put("logprob", a.logprob()).put("special", false);
            }
        }
        event.putNull("generated_text");
        event.putNull("details");
        return event;
    }

    private static String text(Map<String, Output> outputs, String name) {
        return outputs.get(name) instanceof Tensor t && !t.bytes().isEmpty()
                ? new String(t.bytes().get(0), StandardCharsets.UTF_8) : "";
    }

    private static long count(Map<String, Output> outputs, String name) {
        return outputs.get(name) instanceof Tensor t && t.data() != null && t.data().remaining() >= Long.BYTES
                ? t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(0) : 0;
    }
}
