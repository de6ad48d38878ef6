package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 15: a repository's chat template is rendered by a real Jinja engine as transformers renders
 * it, and a tenant's template is attacker code: it reaches no Java object, reads nothing, and a
 * template that would run long or answer huge is refused with a message that names no Java class.
 */
class ChatTemplateTest {
    private static final String CONVERSATION = "[{\"role\": \"system\", \"content\": \"Be brief.\"},"
            + " {\"role\": \"user\", \"content\": \"Hi\"}]";

    @org.junit.jupiter.api.BeforeAll
    static void warm() {
        // as ChatTemplate.of does at load: the engine's first render loads its classes, which a
        // loaded machine may take longer than a render's time budget to do
        try {
            template(ChatTemplate.CHATML).render(CONVERSATION, "/warm-up");
        } catch (ProblemException e) {
            // the tests below say what renders
        }
    }

    private static ChatTemplate template(String jinja) {
        return new ChatTemplate(jinja, "<s>", "</s>");
    }

    private static String refusal(String jinja) {
        ProblemException e = (ProblemException) org.assertj.core.api.Assertions.catchThrowable(
                () -> template(jinja).render(CONVERSATION, "/messages"));
        assertThat(e).as("refused: " + jinja).isNotNull();
        assertThat(e.type().status()).isEqualTo(422);
        String said = e.getMessage() + " " + e.errors();
        assertThat(said).doesNotContain("java.", "com.hubspot", "Exception", "class ", "/tmp", "/work");
        return said;
    }

    @Test
    void aRepositoryWithoutATemplateGetsTheDocumentedChatMl(@TempDir Path repo) throws IOException {
        Files.writeString(repo.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|endoftext|>\"}");
        assertThat(ChatTemplate.of(repo).render(CONVERSATION, "/messages")).isEqualTo(
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void theRepositorysTemplateIsRenderedWithItsSpecialTokensAsTransformersDoes(@TempDir Path repo) throws IOException {
        Files.writeString(repo.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<s>\"}, "
                + "\"eos_token\": \"</s>\", \"chat_template\": \"{{ bos_token }}{% for m in messages %}"
                + "{% if loop.first and m['role'] == 'system' %}[{{ m['content'].strip() }}]{% else %}"
                + "{{ m.role }}: {{ m.content | trim }}{{ eos_token }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}assistant:{% endif %}\"}");
        assertThat(ChatTemplate.of(repo).render(CONVERSATION, "/messages")).isEqualTo("<s>[Be brief.]user: Hi</s>assistant:");
    }

    @Test
    void theDefaultOfHuggingFacesNamedTemplatesIsTheOneRendered(@TempDir Path repo) throws IOException {
        Files.writeString(repo.resolve("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"tool_use\", "
                + "\"template\": \"tools\"}, {\"name\": \"default\", \"template\": \"{{ messages | length }} messages\"}]}");
        assertThat(ChatTemplate.of(repo).render(CONVERSATION, "/messages")).isEqualTo("2 messages");
    }

    @Test
    void aTemplatesRaiseExceptionIsA422WithTheAuthorsMessage() {
        String said = refusal("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                + "{% endif %}ok");
        assertThat(said).contains("System role not supported");
        assertThat(template("{% if messages[0]['role'] == 'user' %}{{ raise_exception('no') }}{% endif %}ok")
                .render(CONVERSATION, "/messages")).isEqualTo("ok");
    }

    @Test
    void aConversationThatIsNotMessagesIsA422() {
        for (String bad : new String[]{"{}", "[]", "not json", "[{\"role\": 1, \"content\": \"x\"}]", "[{\"role\": \"user\"}]"}) {
            assertThatThrownBy(() -> template(ChatTemplate.CHATML).render(bad, "/messages"))
                    .isInstanceOf(ProblemException.class);
        }
    }

    @Test
    void aTemplateReachesNoJavaObjectNorClass() {
        for (String attack : new String[]{
                "{{ messages.getClass() }}",
                "{{ messages.getClass().forName('java.lang.Runtime').getRuntime().exec('id') }}",
                "{{ bos_token.getClass().getClassLoader() }}",
                "{{ messages[0].getClass().getName() }}",
                "{{ ''.class.forName('java.lang.System').getenv() }}",
                "{% set c = messages.class %}{{ c.name }}{{ c.forName('java.lang.Runtime') }}",
        }) {
            String out;
            try {
                out = template(attack).render(CONVERSATION, "/messages");
            } catch (ProblemException e) {
                refusal(attack);
                continue;
            }
            assertThat(out).as(attack).doesNotContain("java", "class", "Runtime", "PATH", "uid=");
        }
    }

    @Test
    void aTemplateReadsNothingFromTheClasspathNorTheDisk() {
        for (String attack : new String[]{"{% include 'logback.xml' %}", "{% include '/etc/passwd' %}",
                "{% import 'openapi.json' as x %}", "{% from 'logback.xml' import y %}", "{% extends 'logback.xml' %}"}) {
            refusal(attack);
        }
    }

    @Test
    void aTemplateThatWouldAnswerHugeIsRefused() {
        refusal("{% for i in range(256) %}{% for j in range(256) %}{{ messages | tojson }}{% endfor %}{% endfor %}");
        refusal("{% set s = 'xxxxxxxxxxxxxxxx' %}{% for i in range(256) %}{% set s = s ~ s %}{% endfor %}{{ s }}");
    }

    @Test
    void deepLoopsAndRecursionAreStoppedByTheBudget() {
        String said = refusal("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                + "{% endfor %}{% endfor %}{% endfor %}done");
        assertThat(said).contains("budget");
        // a macro calling itself is cut off at once (jinjava's cycle check), never run on
        try {
            assertThat(template("{% macro f(n) %}x{{ f(n) }}{% endmacro %}{{ f(1) }}").render(CONVERSATION, "/messages"))
                    .hasSizeLessThan(10);
        } catch (ProblemException e) {
            refusal("{% macro f(n) %}x{{ f(n) }}{% endmacro %}{{ f(1) }}");
        }
        // a legitimate template next to them still renders
        assertThat(template(ChatTemplate.CHATML).render(CONVERSATION, "/messages")).endsWith("<|im_start|>assistant\n");
    }
}
