package dev.serveml.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CompletionsHandlerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static CompletionsHandler.CompletionsRequest parse(String body) throws Exception {
        return CompletionsHandler.CompletionsRequest.of(JSON.readTree(body));
    }

    @Test
    void temperatureZeroIsGreedyAndOpenAisDefaultsSampleWithTheirValues() throws Exception {
        assertThat(parse("{\"model\": \"m\", \"prompt\": \"hi\", \"temperature\": 0}").parameters().values())
                .isEqualTo(Map.of("max_new_tokens", 16L, "return_full_text", false));
        assertThat(parse("{\"model\": \"m\", \"prompt\": \"hi\", \"seed\": 3, \"stop\": \"\\n\"}").parameters().values())
                .isEqualTo(Map.of("max_new_tokens", 16L, "return_full_text", false, "do_sample", true,
                        "temperature", 1.0, "top_p", 1.0, "seed", 3L, "stop", List.of("\n")));
    }

    @Test
    void nRepeatsEachPromptInOrderAndTheStopStringLeavesTheText() throws Exception {
        CompletionsHandler.CompletionsRequest r = parse("{\"model\": \"m\", \"prompt\": [\"a\", \"b\"], \"n\": 2}");
        assertThat(r.prompts()).containsExactly("a", "a", "b", "b");
        assertThat(CompletionsHandler.withoutStop("once upon\n", List.of("###", "\n"))).isEqualTo("once upon");
        assertThat(CompletionsHandler.withoutStop("once upon", List.of("\n"))).isEqualTo("once upon");
    }

    @Test
    void whatIsNotServedIsRefusedNamingTheField() {
        for (Map.Entry<String, String> c : Map.of(
                "{\"model\": \"m\", \"prompt\": \"x\", \"stream\": true}", "/stream",
                "{\"model\": \"m\", \"prompt\": \"x\", \"logprobs\": 2}", "/logprobs",
                "{\"model\": \"m\", \"prompt\": [1, 2]}", "/prompt/0",
                "{\"model\": \"m\", \"prompt\": \"x\", \"temperature\": 3}", "/temperature",
                "{\"model\": \"m\", \"prompt\": \"x\", \"n\": 99}", "/n",
                "{\"model\": \"m\", \"prompt\": \"x\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", "/stop",
                "{\"model\": \"m\", \"prompt\": \"x\", \"frequency_penalty\": 0.5}", "/frequency_penalty",
                "{\"model\": \"m\", \"prompt\": \"x\", \"tempreature\": 0}", "/tempreature",
                "{\"prompt\": \"x\"}", "/model").entrySet()) {
            assertThatThrownBy(() -> parse(c.getKey())).as(c.getKey()).isInstanceOfSatisfying(ProblemException.class,
                    e -> assertThat(e.errors().getFirst().pointer()).isEqualTo(c.getValue()));
        }
    }
}
