package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.auth.Scope;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * OpenAI's {@code POST /v1/chat/completions} for a text-generation model: the conversation goes to
 * the generator as a conversation (parameter {@code chat}), which renders it with the repository's
 * chat template, and the answer is OpenAI's {@code chat.completion} (streamed:
 * {@code chat.completion.chunk}s, the role first, then content deltas, then the finish reason,
 * {@code data: [DONE]}). The sampling fields and the generation are {@link CompletionsHandler}'s.
 *
 * <p>Messages: {@code system}, {@code developer} (given to the template as {@code system}),
 * {@code user} and {@code assistant}, each with string content or text parts (joined with a
 * newline); tool messages, tool calls and non-text parts are refused by name (400) rather than
 * dropped. {@code max_completion_tokens} (or the older {@code max_tokens}) bounds the answer, else
 * the model's default; {@code logprobs} with {@code top_logprobs} (0-20) answers
 * {@code logprobs.content[]} as OpenAI does (a token's {@code bytes} are its decoded text's UTF-8).
 */
final class ChatCompletionsHandler {
    static final int MAX_MESSAGES = 1024;
    static final int MAX_TOP_LOGPROBS = 20;
    private static final Set<String> FIELDS = Set.of("model", "messages", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "n", "stop", "seed", "user", "stream", "stream_options", "logprobs",
            "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "response_format", "tools",
            "tool_choice", "parallel_tool_calls", "functions", "function_call", "store", "metadata");
    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final CompletionsHandler completions;

    ChatCompletionsHandler(CompletionsHandler completions) {
        this.completions = completions;
    }

    void register(HttpApi api) {
        api.jsonRoute(HttpMethod.POST, "/v1/chat/completions", Access.scope(Scope.PREDICT), this::chat);
    }

    /**
     * What a chat completions request asks.
     *
     * @param conversation the messages as the generator takes them (a JSON array of {role, content})
     */
    record ChatRequest(String model, String conversation, CompletionsHandler.Sampling sampling) {
        /** What it asks of the generator: the conversation, n times. */
        CompletionsHandler.Generation generation() {
            return new CompletionsHandler.Generation(model, CompletionsHandler.repeated(List.of(conversation),
                    sampling.n()), sampling, true, List.of(), "/messages");
        }

        static ChatRequest of(JsonNode body) {
            if (!body.isObject()) {
                throw new ProblemException(ProblemType.INVALID_REQUEST, "send a JSON object with 'model' and 'messages'");
            }
            body.fieldNames().forEachRemaining(f -> {
                if (!FIELDS.contains(f)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + CompletionsHandler.pointerName(f),
                            "unknown field for /v1/chat/completions");
                }
            });
            String model = CompletionsHandler.model(body);
            String conversation = conversation(body.get("messages"));
            for (String unsupported : List.of("tools", "functions", "logit_bias")) {
                JsonNode v = body.get(unsupported);
                if (v != null && !v.isNull() && !(v.isContainerNode() && v.isEmpty())) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + unsupported,
                            "'" + unsupported + "' is not supported by this server");
                }
            }
            for (String choice : List.of("tool_choice", "function_call")) {
                JsonNode v = body.get(choice);
                if (v != null && !v.isNull() && !(v.isTextual() && v.asText().equals("none"))) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + choice,
                            "tool calls are not supported by this server ('none' or absent only)");
                }
            }
            JsonNode format = body.get("response_format");
            if (format != null && !format.isNull() && !format.path("type").asText().equals("text")) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/response_format",
                        "only {\"type\": \"text\"} is supported by this server");
            }
            for (String ignored : List.of("parallel_tool_calls", "store")) {
                JsonNode v = body.get(ignored);
                if (v != null && !v.isNull() && !v.isBoolean()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + ignored,
                            "'" + ignored + "' must be true or false");
                }
            }
            JsonNode metadata = body.get("metadata");
            if (metadata != null && !metadata.isNull() && !metadata.isObject()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/metadata", "'metadata' must be an object");
            }
            boolean logprobs = CompletionsHandler.truthy(body.get("logprobs"), "/logprobs");
            JsonNode top = body.get("top_logprobs");
            if (top != null && !top.isNull() && !logprobs) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/top_logprobs",
                        "'top_logprobs' needs 'logprobs': true");
            }
            int topLogprobs = CompletionsHandler.whole(top, "/top_logprobs", 0, MAX_TOP_LOGPROBS, 0);
            Integer maxTokens = null;
            for (String field : List.of("max_tokens", "max_completion_tokens")) { // the newer name wins
                JsonNode v = body.get(field);
                if (v != null && !v.isNull()) {
                    maxTokens = CompletionsHandler.whole(v, "/" + field, 1, Integer.MAX_VALUE, 1);
                }
            }
            CompletionsHandler.Sampling sampling = CompletionsHandler.Sampling.of(body, maxTokens,
                    logprobs ? topLogprobs : -1, true);
            return new ChatRequest(model, conversation, sampling);
        }

        /** The messages, checked, as {@code [{"role", "content"}]} with each content one string. */
        private static String conversation(JsonNode messages) {
            if (messages == null || !messages.isArray() || messages.isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/messages",
                        "'messages' must be a non-empty list of {role, content} messages");
            }
            if (messages.size() > MAX_MESSAGES) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/messages",
                        "at most " + MAX_MESSAGES + " messages are accepted");
            }
            ArrayNode out = JSON.createArrayNode();
            for (int i = 0; i < messages.size(); i++) {
                String at = "/messages/" + i;
                JsonNode m = messages.get(i);
                if (!m.isObject()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, at, "each message must be an object "
                            + "with 'role' and 'content'");
                }
                m.fieldNames().forEachRemaining(f -> {
                    if (f.equals("tool_calls") || f.equals("function_call") || f.equals("tool_call_id")) {
                        throw ProblemException.field(ProblemType.INVALID_REQUEST, at + "/" + f,
                                "tool calls are not supported by this server");
                    }
                    if (!MESSAGE_FIELDS.contains(f)) {
                        throw ProblemException.field(ProblemType.INVALID_REQUEST, at + "/" + CompletionsHandler.pointerName(f),
                                "unknown field of a message");
                    }
                });
                String role = m.path("role").asText("");
                switch (role) {
                    case "system", "developer", "user", "assistant" -> {
                    }
                    case "tool", "function" -> throw ProblemException.field(ProblemType.INVALID_REQUEST, at + "/role",
                            "tool messages are not supported by this server");
                    default -> throw ProblemException.field(ProblemType.INVALID_REQUEST, at + "/role",
                            "'role' must be one of system, developer, user, assistant");
                }
                JsonNode name = m.get("name");
                if (name != null && !name.isNull() && !name.isTextual()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, at + "/name", "'name' must be a string");
                }
                ObjectNode message = out.addObject();
                message.put("role", role.equals("developer") ? "system" : role);
                message.put("content", content(m.get("content"), at + "/content"));
                if (name != null && name.isTextual()) {
                    message.put("name", name.asText());
                }
            }
            return out.toString();
        }

        private static String content(JsonNode content, String at) {
            if (content != null && content.isTextual()) {
                return content.asText();
            }
            if (content == null || !content.isArray() || content.isEmpty()) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, at,
                        "'content' must be a string or a non-empty list of text parts");
            }
            StringBuilder text = new StringBuilder();
            for (int j = 0; j < content.size(); j++) {
                JsonNode part = content.get(j);
                if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, at + "/" + j,
                            "only text parts ({\"type\": \"text\", \"text\": \"...\"}) are supported by this server");
                }
                if (j > 0) {
                    text.append('\n');
                }
                text.append(part.path("text").asText());
            }
            return text.toString();
        }
    }

    private void chat(RoutingContext ctx) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        completions.responses().decoded(ctx, () -> ChatRequest.of(completions.responses().jsonBody(ctx)),
                request -> completions.generate(ctx, timeout, request.generation(),
                        (g, rows, outcome) -> write(g, request, rows, outcome)));
    }

    static void write(JsonGenerator g, ChatRequest request, CompletionRows rows, CompletionsHandler.Outcome outcome)
            throws IOException {
        g.writeStartObject();
        g.writeStringField("id", rows.id());
        g.writeStringField("object", "chat.completion");
        g.writeNumberField("created", rows.created());
        g.writeStringField("model", request.model());
        g.writeNullField("system_fingerprint");
        g.writeArrayFieldStart("choices");
        for (int i = 0; i < outcome.texts().size(); i++) {
            String text = outcome.texts().get(i);
            g.writeStartObject();
            g.writeNumberField("index", i);
            g.writeObjectFieldStart("message");
            g.writeStringField("role", "assistant");
            g.writeStringField("content", text);
            g.writeNullField("refusal");
            g.writeEndObject();
            if (request.sampling().logprobs() >= 0) {
                g.writeObjectFieldStart("logprobs");
                g.writeArrayFieldStart("content");
                for (CompletionRows.Told t : CompletionRows.within(rows.tokens(i), text.length())) {
                    CompletionRows.chatToken(g, t);
                }
                g.writeEndArray();
                g.writeNullField("refusal");
                g.writeEndObject();
            } else {
                g.writeNullField("logprobs");
            }
            g.writeStringField("finish_reason", outcome.finishes().get(i));
            g.writeEndObject();
        }
        g.writeEndArray();
        CompletionRows.usage(g, outcome.promptTokens(), outcome.completionTokens());
        g.writeEndObject();
    }
}
