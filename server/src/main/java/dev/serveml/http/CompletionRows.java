package dev.serveml.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.runtime.TokenSink;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The rows (choices) of one OpenAI completion as the model generates them, for both
 * {@code /v1/completions} ({@code text_completion}) and {@code /v1/chat/completions}
 * ({@code chat.completion}). Told each token on the model's thread ({@link TokenSink}); keeps each
 * token where log probabilities were asked, and, when streamed, writes OpenAI's chunks to a
 * {@link LiveEvents} as they come. Hugging Face keeps a stop string in the text, OpenAI does not:
 * text that may begin a stop string is held back until the next token says whether it does (as
 * vLLM does), so a streamed client never sees part of one, and the streamed text equals the
 * non-streamed text ({@link #finish} sends what was held back of the final text).
 *
 * <p>Thread-safety: {@link #token} on the model's thread, one row at a time; the rest on the event
 * loop once the model's answer is complete (which orders them after every token).
 */
final class CompletionRows implements TokenSink {
    private static final JsonFactory JSON = new JsonFactory();

    /** One generated token as a route reports it (its text, log probability, alternatives). */
    record Told(String piece, double logprob, List<Alternative> top, int offset) {
    }

    private final boolean chat;
    private final String id;
    private final long created;
    private final String model;
    private final List<String> stop;
    private final boolean keepTokens;
    private final LiveEvents live; // null: not streamed
    private final boolean includeUsage;
    private final List<Row> rows = new ArrayList<>();

    private static final class Row {
        final StringBuilder text = new StringBuilder();
        final List<Told> tokens = new ArrayList<>();
        int emitted;
        boolean cut;
        boolean roleSent;
        String echo; // a streamed echo's prompt, sent with the row's first text
    }

    /**
     * @param chat         chat completion chunks ({@code chat.completion.chunk}) rather than text completions
     * @param rows         how many choices
     * @param keepTokens   whether each token's log probability is kept (the request asked for them)
     * @param live         where the chunks go, or null for an answer in one piece
     * @param includeUsage whether the stream ends with a usage chunk ({@code stream_options.include_usage})
     * @param echoes       each row's prompt to stream before its text ({@code echo}), or an empty list
     */
    CompletionRows(boolean chat, int rows, String model, List<String> stop, boolean keepTokens, LiveEvents live,
                   boolean includeUsage, List<String> echoes) {
        this.chat = chat;
        this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        this.created = Instant.now().getEpochSecond();
        this.model = model;
        this.stop = List.copyOf(stop);
        this.keepTokens = keepTokens;
        this.live = live;
        this.includeUsage = includeUsage;
        for (int i = 0; i < rows; i++) {
            Row row = new Row();
            row.echo = echoes.isEmpty() ? null : echoes.get(i);
            this.rows.add(row);
        }
    }

    String id() {
        return id;
    }

    long created() {
        return created;
    }

    /** The tokens kept for a row (empty unless log probabilities were asked). */
    List<Told> tokens(int row) {
        return rows.get(row).tokens;
    }

    @Override
    public void flush() {
        if (live != null) {
            live.flush();
        }
    }

    @Override
    public boolean token(int index, Token token) {
        if (index < 0 || index >= rows.size()) {
            return false;
        }
        Row row = rows.get(index);
        int start = row.text.length();
        row.text.append(token.delta());
        String emit = "";
        if (!row.cut) {
            int safe = safeEnd(row.text, row.emitted, stop);
            if (safe < 0) { // a whole stop string: the text ends before it
                safe = -safe - 1;
                row.cut = true;
            }
            if (safe > row.emitted) {
                emit = row.text.substring(row.emitted, safe);
                row.emitted = safe;
            }
        }
        Told told = null;
        if (keepTokens && !token.eos() && !Double.isNaN(token.logprob()) && !(row.cut && start >= row.emitted)) {
            told = new Told(token.piece(), token.logprob(), token.top(), start);
            row.tokens.add(told);
        }
        if (live == null) {
            return true;
        }
        if (row.echo != null) {
            emit = row.echo + emit;
            row.echo = null;
        }
        if (emit.isEmpty() && told == null && (row.roleSent || !chat)) {
            return live.open();
        }
        return live.send(chunk(index, row, emit, told, null));
    }

    /**
     * How far a row's text may be shown: the text less the longest end of it that begins a stop
     * string; or, where a whole stop string is in it, {@code -(its start) - 1}.
     */
    static int safeEnd(CharSequence text, int from, List<String> stop) {
        if (stop.isEmpty()) {
            return text.length();
        }
        String s = text.toString();
        int longest = stop.stream().mapToInt(String::length).max().orElse(0);
        int first = -1;
        for (String x : stop) {
            int at = s.indexOf(x, Math.max(0, from - longest));
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            return -Math.max(first, from) - 1;
        }
        int hold = 0;
        for (String x : stop) {
            for (int k = Math.min(x.length() - 1, s.length()); k > hold; k--) {
                if (s.endsWith(x.substring(0, k))) {
                    hold = k;
                    break;
                }
            }
        }
        return Math.max(from, s.length() - hold);
    }

    /**
     * Ends the stream: each row's text not yet sent (what was held back, where it turned out not to
     * be a stop string), its finish reason, the usage chunk where asked, {@code data: [DONE]}. On the
     * event loop.
     *
     * @param texts    each row's final text, as the non-streamed answer has it
     * @param finishes each row's OpenAI finish reason
     */
    void finish(List<String> texts, List<String> finishes, long promptTokens, long completionTokens) {
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            String sent = row.text.substring(0, Math.min(row.emitted, row.text.length()));
            String rest = (row.echo != null ? row.echo : "")
                    + (texts.get(i).startsWith(sent) ? texts.get(i).substring(sent.length()) : "");
            if (!rest.isEmpty() || !row.roleSent) {
                live.send(chunk(i, row, rest, null, null));
            }
            live.send(chunk(i, row, "", null, finishes.get(i)));
        }
        if (includeUsage) {
            live.send(json(g -> {
                head(g);
                g.writeArrayFieldStart("choices");
                g.writeEndArray();
                usage(g, promptTokens, completionTokens);
                g.writeEndObject();
            }));
        }
        live.endWith("data: [DONE]\n\n");
    }

    private void head(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", id);
        g.writeStringField("object", chat ? "chat.completion.chunk" : "text_completion");
        g.writeNumberField("created", created);
        g.writeStringField("model", model);
        if (chat) {
            g.writeNullField("system_fingerprint");
        }
    }

    static void usage(JsonGenerator g, long prompt, long completion) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeEndObject();
    }

    private String chunk(int index, Row row, String text, Told told, String finish) {
        boolean role = chat && !row.roleSent;
        row.roleSent = true;
        return json(g -> {
            head(g);
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", index);
            if (chat) {
                g.writeObjectFieldStart("delta");
                if (role) {
                    g.writeStringField("role", "assistant");
                }
                if (finish == null) {
                    g.writeStringField("content", text);
                }
                g.writeEndObject();
                if (told == null) {
                    g.writeNullField("logprobs");
                } else {
                    g.writeObjectFieldStart("logprobs");
                    g.writeArrayFieldStart("content");
                    chatToken(g, told);
                    g.writeEndArray();
                    g.writeNullField("refusal");
                    g.writeEndObject();
                }
            } else {
                g.writeStringField("text", text);
                if (told == null) {
                    g.writeNullField("logprobs");
                } else {
                    legacyLogprobs(g, List.of(told), 0);
                }
            }
            if (finish == null) {
                g.writeNullField("finish_reason");
            } else {
                g.writeStringField("finish_reason", finish);
            }
            g.writeEndObject();
            g.writeEndArray();
            if (includeUsage) {
                g.writeNullField("usage");
            }
            g.writeEndObject();
        });
    }

    /** The tokens of a text that ends at {@code length} (a stop string cut off): those that begin before it. */
    static List<Told> within(List<Told> tokens, int length) {
        return tokens.stream().filter(t -> t.offset() < length).toList();
    }

    /** {@code logprobs} in the legacy completions shape: tokens, token_logprobs, top_logprobs, text_offset. */
    static void legacyLogprobs(JsonGenerator g, List<Told> tokens, int offset) throws IOException {
        g.writeObjectFieldStart("logprobs");
        g.writeArrayFieldStart("tokens");
        for (Told t : tokens) {
            g.writeString(t.piece());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("token_logprobs");
        for (Told t : tokens) {
            g.writeNumber(t.logprob());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("top_logprobs");
        for (Told t : tokens) {
            g.writeStartObject();
            for (Alternative a : t.top()) {
                g.writeNumberField(a.piece(), a.logprob());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("text_offset");
        for (Told t : tokens) {
            g.writeNumber(offset + t.offset());
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /** One entry of a chat answer's {@code logprobs.content}: token, logprob, bytes, top_logprobs. */
    static void chatToken(JsonGenerator g, Told t) throws IOException {
        g.writeStartObject();
        g.writeStringField("token", t.piece());
        g.writeNumberField("logprob", t.logprob());
        bytes(g, t.piece());
        g.writeArrayFieldStart("top_logprobs");
        for (Alternative a : t.top()) {
            g.writeStartObject();
            g.writeStringField("token", a.piece());
            g.writeNumberField("logprob", a.logprob());
            bytes(g, a.piece());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void bytes(JsonGenerator g, String piece) throws IOException {
        g.writeArrayFieldStart("bytes");
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            g.writeNumber(b & 0xff);
        }
        g.writeEndArray();
    }

    /** Where a streamed answer failed after its first chunk: OpenAI's error as the last event. */
    void fail(String type, String code, String message) {
        live.send(json(g -> {
            g.writeStartObject();
            g.writeObjectFieldStart("error");
            g.writeStringField("message", message);
            g.writeStringField("type", type);
            g.writeNullField("param");
            g.writeStringField("code", code);
            g.writeEndObject();
            g.writeEndObject();
        }));
        live.endWith("");
    }

    interface Writer {
        void write(JsonGenerator g) throws IOException;
    }

    static String json(Writer writer) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            writer.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }
}
