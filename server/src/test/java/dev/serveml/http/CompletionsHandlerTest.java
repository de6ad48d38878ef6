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
        for (Map.Entry<String, String> c : Map.ofEntries(
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"stream\": \"yes\"}", "/stream"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"logprobs\": 6}", "/logprobs"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"logprobs\": 2, \"echo\": true}", "/logprobs"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"stream_options\": {\"include_usage\": true}}", "/stream_options"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"stream\": true, \"stream_options\": {\"x\": 1}}", "/stream_options/x"),
                Map.entry("{\"model\": \"m\", \"prompt\": [1, 2]}", "/prompt/0"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"temperature\": 3}", "/temperature"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"n\": 99}", "/n"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", "/stop"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"frequency_penalty\": 0.5}", "/frequency_penalty"),
                Map.entry("{\"model\": \"m\", \"prompt\": \"x\", \"tempreature\": 0}", "/tempreature"),
                Map.entry("{\"prompt\": \"x\"}", "/model")).entrySet()) {
            assertThatThrownBy(() -> parse(c.getKey())).as(c.getKey()).isInstanceOfSatisfying(ProblemException.class,
                    e -> assertThat(e.errors().getFirst().pointer()).isEqualTo(c.getValue()));
        }
    }

    @Test
    void streamIncludeUsageAndLogprobsReachTheGenerator() throws Exception {
        CompletionsHandler.CompletionsRequest r = parse("{\"model\": \"m\", \"prompt\": \"hi\", \"temperature\": 0, "
                + "\"stream\": true, \"stream_options\": {\"include_usage\": true}, \"logprobs\": 3}");
        assertThat(r.sampling().stream()).isTrue();
        assertThat(r.sampling().includeUsage()).isTrue();
        assertThat(r.parameters().values()).isEqualTo(Map.of("max_new_tokens", 16L, "return_full_text", false,
                "logprobs", 3L));
    }

    @Test
    void aStreamHoldsBackTextThatMayBeginAStopStringAndCutsAWholeOne() {
        List<String> stop = List.of("###", "\nQ:");
        assertThat(CompletionRows.safeEnd("once upon", 0, stop)).isEqualTo(9);
        assertThat(CompletionRows.safeEnd("once upon #", 0, stop)).isEqualTo(10); // "#" may begin "###"
        assertThat(CompletionRows.safeEnd("once upon ##", 10, stop)).isEqualTo(10);
        assertThat(CompletionRows.safeEnd("once upon #a", 10, stop)).isEqualTo(12); // it did not
        assertThat(CompletionRows.safeEnd("once upon ###", 10, stop)).isEqualTo(-10 - 1); // cut before it
        assertThat(CompletionRows.safeEnd("a\n", 0, stop)).isEqualTo(1);
        assertThat(CompletionRows.safeEnd("a\nQ:", 1, stop)).isEqualTo(-1 - 1);
        assertThat(CompletionRows.safeEnd("anything", 0, List.of())).isEqualTo(8);
    }
}
