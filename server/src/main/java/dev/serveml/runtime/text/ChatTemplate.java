package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A repository's chat template ({@code chat_template} in {@code tokenizer_config.json}), which
 * turns a conversation into the prompt the model was trained on. Without one, the documented
 * default: ChatML ({@code <|im_start|>role\ncontent<|im_end|>\n} per message, then
 * {@code <|im_start|>assistant\n}).
 *
 * <p>PLACEHOLDER: renders the default only; rendering the repository's own template with a real
 * Jinja engine replaces it.
 */
final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();

    static ChatTemplate of(Path repo) {
        return new ChatTemplate();
    }

    /**
     * The prompt for a conversation.
     *
     * @param messagesJson a JSON array of {@code {"role", "content"}} objects (OpenAI's chat messages,
     *                     content already flattened to a string)
     * @param pointer      where the conversation is in the request, for a 422
     */
    String render(String messagesJson, String pointer) {
        JsonNode messages;
        try {
            messages = JSON.readTree(messagesJson);
        } catch (IOException e) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, pointer, "the conversation is not a JSON array of messages");
        }
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, pointer, "the conversation is not a JSON array of messages");
        }
        StringBuilder prompt = new StringBuilder();
        for (JsonNode m : messages) {
            prompt.append("<|im_start|>").append(m.path("role").asText()).append('\n')
                    .append(m.path("content").asText()).append("<|im_end|>\n");
        }
        return prompt.append("<|im_start|>assistant\n").toString();
    }
}
