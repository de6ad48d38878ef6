package dev.serveml.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChatCompletionsHandlerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ChatCompletionsHandler.ChatRequest parse(String body) throws Exception {
        return ChatCompletionsHandler.ChatRequest.of(JSON.readTree(body));
    }

    @Test
    void theConversationReachesTheGeneratorAsMessagesWithTheSharedSampling() throws Exception {
        ChatCompletionsHandler.ChatRequest r = parse("{\"model\": \"m\", \"messages\": [{\"role\": \"developer\", "
                + "\"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi\"}, "
                + "{\"type\": \"text\", \"text\": \"there\"}], \"name\": \"bob\"}], \"temperature\": 0, "
                + "\"max_completion_tokens\": 5, \"stop\": [\"\\n\"], \"logprobs\": true, \"top_logprobs\": 2, \"n\": 2, "
                + "\"user\": \"u1\", \"seed\": 4}");
        assertThat(JSON.readTree(r.conversation())).isEqualTo(JSON.readTree("[{\"role\": \"system\", \"content\": "
                + "\"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\\nthere\", \"name\": \"bob\"}]"));
        assertThat(r.sampling().n()).isEqualTo(2);
        assertThat(r.sampling().parameters().values()).isEqualTo(Map.of("max_new_tokens", 5L, "return_full_text", false,
                "stop", List.of("\n"), "logprobs", 2L, "chat", true, "seed", 4L));
    }

    @Test
    void withoutAMaximumTheModelsDefaultBoundsTheAnswer() throws Exception {
        assertThat(parse("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}")
                .sampling().parameters().values()).doesNotContainKey("max_new_tokens").containsEntry("do_sample", true);
        assertThat(parse("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 3}")
                .sampling().parameters().values()).containsEntry("max_new_tokens", 3L);
    }

    @Test
    void badMessagesAndUnservedFieldsAreRefusedNamingTheField() {
        String user = "[{\"role\": \"user\", \"content\": \"x\"}]";
        for (Map.Entry<String, String> c : Map.ofEntries(
                Map.entry("{\"model\": \"m\"}", "/messages"),
                Map.entry("{\"model\": \"m\", \"messages\": []}", "/messages"),
                Map.entry("{\"model\": \"m\", \"messages\": [\"hi\"]}", "/messages/0"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", "/messages/0/role"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", "/messages/0/role"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}]}", "/messages/0/content"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": 5}]}", "/messages/0/content"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}",
                        "/messages/0/content/0"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"assistant\", \"content\": \"x\", \"tool_calls\": []}]}",
                        "/messages/0/tool_calls"),
                Map.entry("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\", \"extra\": 1}]}",
                        "/messages/0/extra"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"tools\": [{\"type\": \"function\"}]}", "/tools"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"tool_choice\": \"auto\"}", "/tool_choice"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"response_format\": {\"type\": \"json_object\"}}",
                        "/response_format"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"top_logprobs\": 2}", "/top_logprobs"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"logprobs\": true, \"top_logprobs\": 21}",
                        "/top_logprobs"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"max_completion_tokens\": 0}",
                        "/max_completion_tokens"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"temperature\": 2.5}", "/temperature"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"presence_penalty\": 1}", "/presence_penalty"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"stream_options\": {\"include_usage\": true}}",
                        "/stream_options"),
                Map.entry("{\"model\": \"m\", \"messages\": " + user + ", \"prompt\": \"x\"}", "/prompt"),
                Map.entry("{\"messages\": " + user + "}", "/model")).entrySet()) {
            assertThatThrownBy(() -> parse(c.getKey())).as(c.getKey()).isInstanceOfSatisfying(ProblemException.class,
                    e -> {
                        assertThat(e.type().status()).isEqualTo(400);
                        assertThat(e.errors().getFirst().pointer()).isEqualTo(c.getValue());
                    });
        }
    }
}
