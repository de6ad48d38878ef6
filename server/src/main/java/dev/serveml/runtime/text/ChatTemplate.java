package dev.serveml.runtime.text;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceNotFoundException;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A repository's chat template, which turns a conversation into the prompt the model was trained
 * on: {@code chat_template} in {@code tokenizer_config.json} (a string, or Hugging Face's list of
 * named templates, of which {@code default}), else a {@code chat_template.jinja} beside it, rendered
 * as transformers renders it (Jinja, with {@code messages}, {@code add_generation_prompt} true,
 * {@code bos_token}, {@code eos_token} and {@code raise_exception}) by jinjava. Without one, the
 * documented default: ChatML, {@code <|im_start|>role\ncontent<|im_end|>\n} per message, then
 * {@code <|im_start|>assistant\n}.
 *
 * <p>A template is the tenant's code run inside the server, so it is sandboxed: no includes,
 * imports or macros from anywhere (no classpath or file reads), no Java object access beyond
 * jinjava's restricted resolver (no {@code getClass}, no {@code class}), no nested interpretation,
 * bounded output and strings, {@code range} capped at {@link #RANGE_LIMIT}, and a budget of nodes
 * rendered ({@link #nodeBudget}) and of wall-clock time ({@link #TIME_BUDGET_NANOS}) checked before
 * every node, which bounds nested loops and slow templates: a template over any bound is refused
 * (422) rather than run on. Jinjava's own messages name Java classes, so a failure is told by its
 * kind and line only, except {@code raise_exception}'s message, the template author's own words.
 * Thread-safe; each render has its own budget.
 */
final class ChatTemplate {
    /** ChatML, the documented default (README: text-generation): what a repository without a template gets. */
    static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";
    /** The largest template a repository may have (Hub templates are a few KB). */
    static final int MAX_TEMPLATE_CHARS = 64 * 1024;
    static final int RANGE_LIMIT = 256;
    /** Nodes a render may visit before it is refused: a fixed part plus a part per message. */
    static final int BASE_NODES = 2_000;
    static final int NODES_PER_MESSAGE = 100;
    /**
     * A render may run on the calling thread (a small request is checked there, which may be an
     * event loop), so its time is short: a real template renders in about a millisecond once warm
     * ({@link #of} renders one conversation at load to warm the engine).
     */
    static final long TIME_BUDGET_NANOS = 250_000_000L;
    /** Output and any string in it: this many times the conversation's size, plus a fixed part. */
    static final int OUTPUT_FACTOR = 4;
    static final int OUTPUT_EXTRA = 64 * 1024;
    private static final int MAX_REASON_CHARS = 200;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<List<Map<String, Object>>> MESSAGES = new TypeReference<>() {
    };

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    ChatTemplate(String template, String bosToken, String eosToken) {
        if (template.length() > MAX_TEMPLATE_CHARS) {
            throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "the chat template is "
                    + template.length() + " characters; at most " + MAX_TEMPLATE_CHARS + " are served");
        }
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.jinjava = new Jinjava(config(Integer.MAX_VALUE, Long.MAX_VALUE, OUTPUT_EXTRA));
        // nothing is read from anywhere: {% include %}, {% import %}, {% from %} and {% extends %} fail
        jinjava.setResourceLocator((name, charset, interpreter) -> {
            throw new ResourceNotFoundException("templates are not loaded from anywhere");
        });
        try {
            java.lang.reflect.Method raise = ChatTemplate.class.getDeclaredMethod("raiseException", Object.class);
            raise.setAccessible(true); // a public method of a package-private class: jinjava calls it reflectively
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", raise));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The repository's template (see the class comment), or ChatML. */
    static ChatTemplate of(Path repo) {
        JsonNode config = JSON.createObjectNode();
        Path file = repo.resolve("tokenizer_config.json");
        try {
            if (Files.isRegularFile(file)) {
                config = JSON.readTree(file.toFile());
            }
        } catch (IOException e) {
            throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "tokenizer_config.json is not valid JSON");
        }
        String template = template(config.path("chat_template")).orElse(null);
        Path jinja = repo.resolve("chat_template.jinja");
        if (template == null && Files.isRegularFile(jinja)) {
            try {
                if (Files.size(jinja) > MAX_TEMPLATE_CHARS * 4L) {
                    throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "chat_template.jinja is too large");
                }
                template = Files.readString(jinja, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "chat_template.jinja is not UTF-8 text");
            }
        }
        ChatTemplate chat = new ChatTemplate(template != null ? template : CHATML, token(config.path("bos_token")),
                token(config.path("eos_token")));
        try {
            // at load, off any event loop: jinjava's first render loads and compiles its classes
            chat.render("[{\"role\": \"user\", \"content\": \"Hello\"}]", "/warm-up");
        } catch (ProblemException e) {
            // a template that refuses this conversation (or any) is refused per request, with its reason
        }
        return chat;
    }

    private static Optional<String> template(JsonNode node) {
        if (node.isTextual()) {
            return Optional.of(node.asText());
        }
        if (node.isArray()) { // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
            for (JsonNode named : node) {
                if (named.path("name").asText().equals("default") && named.path("template").isTextual()) {
                    return Optional.of(named.path("template").asText());
                }
            }
        }
        return Optional.empty();
    }

    /** A special token as tokenizer_config.json writes it: a string, or an AddedToken object with its content. */
    private static String token(JsonNode node) {
        return node.isTextual() ? node.asText() : node.path("content").asText("");
    }

    private static JinjavaConfig config(int nodeBudget, long deadline, long maxOutput) {
        JinjavaProcessors processors = JinjavaProcessors.newBuilder().withNodePreProcessor(new Budget(nodeBudget, deadline))
                .build();
        return JinjavaConfig.newBuilder()
                .withDisabled(Map.of(Context.Library.TAG, Set.of("include", "import", "from", "extends")))
                .withNestedInterpretationEnabled(false)
                .withEnableRecursiveMacroCalls(false)
                .withMaxMacroRecursionDepth(1)
                .withMaxRenderDepth(8)
                .withRangeLimit(RANGE_LIMIT)
                .withMaxListSize(10_000)
                .withMaxMapSize(10_000)
                .withMaxOutputSize(maxOutput)
                .withMaxStringLength(maxOutput)
                .withFailOnUnknownTokens(false)
                .withProcessors(processors)
                .build();
    }

    /** Counts the nodes a render visits and refuses the next one past the count or the deadline. */
    private static final class Budget implements java.util.function.BiConsumer<com.hubspot.jinjava.tree.Node,
            com.hubspot.jinjava.interpret.JinjavaInterpreter> {
        private final long deadline;
        private int left;

        Budget(int nodes, long deadline) {
            this.left = nodes;
            this.deadline = deadline;
        }

        @Override
        public void accept(com.hubspot.jinjava.tree.Node node, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter) {
            interpreter.getContext().setCurrentNode(node); // what jinjava's own pre-processor does
            if (--left < 0 || System.nanoTime() - deadline > 0) {
                left = -1;
                throw new OverBudget();
            }
        }
    }

    /** Thrown from inside a render that ran past its budget (caught as a render failure). */
    private static final class OverBudget extends RuntimeException {
        OverBudget() {
            super("the chat template ran past its budget", null, false, false);
        }
    }

    /** Thrown by a template's {@code raise_exception(message)}, as transformers' is. */
    static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message, null, false, false);
        }
    }

    /** The function {@code raise_exception} templates call (transformers defines it the same). */
    public static Object raiseException(Object message) {
        throw new Raised(String.valueOf(message));
    }

    /**
     * The prompt for a conversation.
     *
     * @param messagesJson a JSON array of {@code {"role", "content"}} objects (OpenAI's chat messages,
     *                     content already flattened to a string)
     * @param pointer      where the conversation is in the request, for a 422
     */
    String render(String messagesJson, String pointer) {
        List<Map<String, Object>> messages = messages(messagesJson, pointer);
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", messages);
        bindings.put("add_generation_prompt", true);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        int nodes = BASE_NODES + NODES_PER_MESSAGE * messages.size();
        long maxOutput = (long) OUTPUT_FACTOR * messagesJson.length() + OUTPUT_EXTRA;
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, bindings, config(nodes, System.nanoTime() + TIME_BUDGET_NANOS,
                    maxOutput));
        } catch (RuntimeException e) {
            throw failed(pointer, reason(e));
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failed(pointer, reason(error));
            }
        }
        if (result.getOutput().length() >= maxOutput) {
            throw failed(pointer, "its output is over " + maxOutput + " characters");
        }
        return result.getOutput();
    }

    /**
     * The conversation read and checked, not rendered: what a call is refused for before it is
     * queued (on whatever thread takes it, maybe an event loop, where a tenant's template must not run).
     */
    static List<Map<String, Object>> messages(String messagesJson, String pointer) {
        List<Map<String, Object>> messages;
        try {
            messages = JSON.readValue(messagesJson, MESSAGES);
        } catch (IOException e) {
            throw notMessages(pointer);
        }
        if (messages == null || messages.isEmpty() || messages.stream().anyMatch(m -> m == null
                || !(m.get("role") instanceof String) || !(m.get("content") instanceof String))) {
            throw notMessages(pointer);
        }
        return messages;
    }

    private static ProblemException notMessages(String pointer) {
        return ProblemException.field(ProblemType.INVALID_INPUT, pointer,
                "the conversation is not a JSON array of {role, content} messages with string values");
    }

    private static ProblemException failed(String pointer, String reason) {
        return ProblemException.field(ProblemType.INVALID_INPUT, pointer, "the model's chat template failed on "
                + "this conversation: " + reason);
    }

    /** What a client is told of a failed render: never jinjava's message, which names Java classes. */
    private static String reason(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof Raised || t instanceof OverBudget) {
                return reason((RuntimeException) t);
            }
        }
        String line = error.getLineno() > 0 ? " (line " + error.getLineno() + ")" : "";
        return switch (error.getReason()) {
            case SYNTAX_ERROR -> "a syntax error, or a method or function it may not call" + line;
            case DISABLED -> "it uses a tag that is not served (include, import, from, extends)" + line;
            case OUTPUT_TOO_BIG, COLLECTION_TOO_BIG, OVER_LIMIT -> "its output is too large";
            default -> "it could not be rendered" + line;
        };
    }

    private static String reason(RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Raised r) {
                String said = r.getMessage();
                return "it raised: " + (said.length() > MAX_REASON_CHARS ? said.substring(0, MAX_REASON_CHARS) + "…" : said);
            }
            if (t instanceof OverBudget) {
                return "it ran past its budget of steps or time";
            }
        }
        return "it could not be rendered";
    }
}
