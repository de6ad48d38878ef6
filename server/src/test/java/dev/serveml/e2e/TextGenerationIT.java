package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: the gpt2-tiny fixture uploaded as a zip over real HTTP is served as text-generation; the
 * native predict route answers Hugging Face's {@code [{"generated_text"}]} with torch's greedy
 * continuation, V2 gets the typed text and token counts, and bad calls are 422s naming the field
 * while the model goes on answering.
 */
class TextGenerationIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static JsonNode greedy;

    @BeforeAll
    static void start() {
        server = shared.server();
        try {
            greedy = new ObjectMapper().readTree(TextGenerationIT.class.getResource("/fixtures/hf/expected.json"))
                    .at("/generation/greedy/0");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        HttpResponse<String> r = server.upload("tg-gpt2", "gpt2-tiny.zip", RepoZip.of("gpt2-tiny").bytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    }

    @Test
    void theNativeRouteAnswersHuggingFacesShapeWithTorchsGreedyText() {
        JsonNode v = json(server.get("/api/v1/models/tg-gpt2/versions/1"));
        assertThat(v.at("/metadata/task").asText()).isEqualTo("text-generation");
        assertThat(v.at("/metadata/max_length").asInt()).isEqualTo(64);
        String prompt = greedy.get("prompt").asText();
        String continuation = greedy.get("generated_text").asText();
        JsonNode one = predict("{\"inputs\": \"" + prompt + "\", \"parameters\": {\"max_new_tokens\": 12}}");
        assertThat(one.size()).isEqualTo(1);
        assertThat(one.at("/0").size()).as("only generated_text").isEqualTo(1);
        assertThat(one.at("/0/generated_text").asText()).isEqualTo(prompt + continuation);
        JsonNode alone = predict("{\"inputs\": [\"" + prompt + "\", \"the cat\"], \"parameters\": {\"max_new_tokens\": 12, "
                + "\"return_full_text\": false}}");
        assertThat(alone.size()).isEqualTo(2);
        assertThat(alone.at("/0/0/generated_text").asText()).isEqualTo(continuation);
        JsonNode sampled = predict("{\"inputs\": \"" + prompt + "\", \"parameters\": {\"do_sample\": true, \"seed\": 3, "
                + "\"top_k\": 20, \"max_new_tokens\": 10}}");
        assertThat(predict("{\"inputs\": \"" + prompt + "\", \"parameters\": {\"do_sample\": true, \"seed\": 3, "
                + "\"top_k\": 20, \"max_new_tokens\": 10}}")).isEqualTo(sampled);
    }

    @Test
    void theV2ProtocolGetsTheTextAndTheTokenCounts() {
        HttpResponse<String> r = server.postJson("/v2/models/tg-gpt2/infer", "{\"inputs\": [{\"name\": \"text\", "
                + "\"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"" + greedy.get("prompt").asText() + "\"]}], "
                + "\"parameters\": {\"max_new_tokens\": 12, \"return_full_text\": false}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode outputs = json(r).get("outputs");
        for (JsonNode o : outputs) {
            switch (o.get("name").asText()) {
                case "generated_text" -> assertThat(o.at("/data/0").asText()).isEqualTo(greedy.get("generated_text").asText());
                case "prompt_tokens" -> assertThat(o.at("/data/0").asLong()).isEqualTo(greedy.get("prompt_ids").size());
                case "completion_tokens" -> assertThat(o.at("/data/0").asLong()).isEqualTo(12);
                case "finish_reason" -> assertThat(o.at("/data/0").asText()).as("12 tokens, all it was allowed")
                        .isEqualTo("length");
                default -> throw new AssertionError(o.toString());
            }
        }
        assertThat(outputs.size()).isEqualTo(4);
    }

    @Test
    void badParametersAndAPromptOverTheContextAre422sAndTheModelStillAnswers() {
        HttpResponse<String> bad = server.postJson("/api/v1/models/tg-gpt2/predict",
                "{\"inputs\": \"Hello\", \"parameters\": {\"temperature\": -1, \"do_sample\": true}}");
        assertThat(bad.statusCode()).as(bad.body()).isEqualTo(422);
        assertThat(json(bad).at("/errors/0/pointer").asText()).isEqualTo("/parameters/temperature");
        HttpResponse<String> tooLong = server.postJson("/api/v1/models/tg-gpt2/predict",
                "{\"inputs\": \"" + "the cat sat on the mat. ".repeat(12) + "\"}");
        assertThat(tooLong.statusCode()).as(tooLong.body()).isEqualTo(422);
        assertThat(json(tooLong).get("detail").asText()).contains("context is 64 tokens");
        assertThat(predict("{\"inputs\": \"Hello\", \"parameters\": {\"max_new_tokens\": 2}}").at("/0/generated_text")
                .asText()).startsWith("Hello");
    }

    private static JsonNode predict(String body) {
        HttpResponse<String> r = server.postJson("/api/v1/models/tg-gpt2/predict", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }
}
