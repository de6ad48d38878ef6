package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: {@code "stream": true} on the native predict routes for a text-generation model, over
 * real HTTP, in text-generation-inference's Server-Sent Events shape: an event per token (torch's
 * greedy ids, in order), the last with the whole text and the details; the texts add up to the
 * answer the same call gets unstreamed. A refusal before the first token is the usual problem
 * answer (a model that does not generate: 422 at {@code /stream}; a prompt over the context: 422),
 * and a client that hangs up mid-stream frees its generation's slot at once.
 */
class NativeStreamIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "ns-gpt2";
    private static final String PATH = "/api/v1/models/" + MODEL + "/predict";

    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static JsonNode greedy;

    @BeforeAll
    static void start() throws IOException {
        server = shared.server();
        greedy = JSON.readTree(NativeStreamIT.class.getResource("/fixtures/hf/expected.json")).at("/generation/greedy/0");
        HttpResponse<String> r = server.upload(MODEL, "gpt2-tiny.zip", RepoZip.of("gpt2-tiny").bytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        HttpResponse<String> sst2 = server.upload("ns-sst2", "bert-tiny-sst2.zip", RepoZip.of("bert-tiny-sst2").bytes());
        assertThat(sst2.statusCode()).as(sst2.body()).isEqualTo(201);
    }

    @Test
    void eachTokenIsAnEventInTgisShapeAndTheirTextsAddUpToTheUnstreamedAnswer() {
        String prompt = greedy.get("prompt").asText();
        String body = "{\"inputs\": " + quote(prompt) + ", \"parameters\": {\"max_new_tokens\": 12}";
        String whole = predict(body + "}").at("/0/generated_text").asText();
        assertThat(whole).isEqualTo(prompt + greedy.get("generated_text").asText());

        List<JsonNode> events = stream(PATH, body + ", \"stream\": true}");
        assertThat(events).hasSize(12);
        List<Long> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < events.size(); i++) {
            JsonNode e = events.get(i);
            ids.add(e.at("/token/id").asLong());
            assertThat(e.at("/token/special").asBoolean()).isFalse();
            text.append(e.at("/token/text").asText());
            if (i < events.size() - 1) {
                assertThat(e.get("generated_text").isNull()).as(e.toString()).isTrue();
                assertThat(e.get("details").isNull()).as(e.toString()).isTrue();
            }
        }
        List<Long> torch = new ArrayList<>();
        greedy.get("generated_ids").forEach(id -> torch.add(id.asLong()));
        assertThat(ids).as("torch's greedy ids, one event each").isEqualTo(torch);
        JsonNode last = events.get(events.size() - 1);
        assertThat(prompt + text).isEqualTo(whole);
        assertThat(last.get("generated_text").asText()).isEqualTo(whole);
        assertThat(last.at("/details/finish_reason").asText()).isEqualTo("length");
        assertThat(last.at("/details/generated_tokens").asInt()).isEqualTo(12);
        assertThat(last.at("/details/prompt_tokens").asInt()).isEqualTo(greedy.get("prompt_ids").size());
    }

    @Test
    void aSeededSampleAndAStopStringStreamAsTheyAnswerUnstreamed() {
        String sample = "{\"inputs\": \"the cat\", \"parameters\": {\"do_sample\": true, \"seed\": 7, \"top_k\": 20, "
                + "\"max_new_tokens\": 10, \"return_full_text\": false}";
        String whole = predict(sample + "}").at("/0/generated_text").asText();
        List<JsonNode> events = stream(PATH, sample + ", \"stream\": true}");
        assertThat(texts(events)).isEqualTo(whole);
        assertThat(events.get(events.size() - 1).get("generated_text").asText()).isEqualTo(whole);

        // greedy "Hello world" goes " cat cat cat*$ ...": a stop at "cat*" ends on its token, kept (HF's way)
        String stop = "{\"inputs\": \"Hello world\", \"parameters\": {\"max_new_tokens\": 12, \"stop\": [\"cat*\"], "
                + "\"return_full_text\": false}";
        String stopped = predict(stop + "}").at("/0/generated_text").asText();
        assertThat(stopped).isEqualTo(" cat cat cat*");
        List<JsonNode> cut = stream(PATH, stop + ", \"stream\": true}");
        assertThat(texts(cut)).isEqualTo(stopped);
        assertThat(cut.get(cut.size() - 1).at("/details/finish_reason").asText()).isEqualTo("stop_sequence");
    }

    @Test
    void logprobsAskedGiveEachTokensLogProbabilityAndTheLikeliestAlternatives() {
        List<JsonNode> events = stream(PATH, "{\"inputs\": \"Hello world\", \"parameters\": {\"max_new_tokens\": 4, "
                + "\"logprobs\": 2}, \"stream\": true}");
        for (JsonNode e : events) {
            assertThat(e.at("/token/logprob").asDouble()).as(e.toString()).isNegative();
            assertThat(e.get("top_tokens").size()).isEqualTo(2);
            assertThat(e.at("/top_tokens/0/id").asLong()).as("greedy takes the likeliest").isEqualTo(e.at("/token/id").asLong());
            assertThat(e.at("/top_tokens/0/logprob").asDouble()).isCloseTo(e.at("/token/logprob").asDouble(),
                    org.assertj.core.api.Assertions.within(1e-6));
            assertThat(e.at("/top_tokens/1/logprob").asDouble()).isLessThanOrEqualTo(e.at("/top_tokens/0/logprob").asDouble());
        }
        JsonNode plain = stream(PATH, "{\"inputs\": \"Hello world\", \"parameters\": {\"max_new_tokens\": 1}, "
                + "\"stream\": true}").get(0);
        assertThat(plain.at("/token/logprob").isNull()).as(plain.toString()).isTrue();
        assertThat(plain.has("top_tokens")).isFalse();
    }

    @Test
    void chatMessagesAsInputsAreOneConversationStreamedOrNot() {
        String messages = "[{\"role\": \"user\", \"content\": \"Hello\"}]";
        String asText = predict("{\"inputs\": " + quote(messages.replace(" ", "")) + ", \"parameters\": {\"chat\": true, "
                + "\"max_new_tokens\": 6, \"return_full_text\": false}}").at("/0/generated_text").asText();
        String body = "{\"inputs\": " + messages + ", \"parameters\": {\"max_new_tokens\": 6, \"return_full_text\": false}";
        assertThat(predict(body + "}").at("/0/generated_text").asText()).isEqualTo(asText);
        assertThat(texts(stream(PATH, body + ", \"stream\": true}"))).isEqualTo(asText);
    }

    @Test
    void aDeploymentOfTheModelStreamsToo() {
        HttpResponse<String> created = server.postJson("/api/v1/deployments", "{\"name\": \"ns-gen\", \"model\": \""
                + MODEL + "\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        server.awaitDeployment("ns-gen", "active");
        String body = "{\"inputs\": \"Hello world\", \"parameters\": {\"max_new_tokens\": 5}";
        String whole = json(server.postJson("/api/v1/deployments/ns-gen/predict", body + "}")).at("/0/generated_text").asText();
        List<JsonNode> events = stream("/api/v1/deployments/ns-gen/predict", body + ", \"stream\": true}");
        assertThat(events).hasSize(5);
        assertThat("Hello world" + texts(events)).isEqualTo(whole);
    }

    @Test
    void refusalsBeforeTheFirstTokenAreProblemAnswersAndTheModelsStillAnswer() {
        HttpResponse<String> notGenerating = server.postJson("/api/v1/models/ns-sst2/predict",
                "{\"inputs\": \"I loved it\", \"stream\": true}");
        assertProblem(notGenerating, "/stream");
        assertThat(json(notGenerating).get("detail").asText()).contains("text-generation");
        HttpResponse<String> notABoolean = server.postJson(PATH, "{\"inputs\": \"Hello\", \"stream\": \"yes\"}");
        assertThat(notABoolean.statusCode()).as("a malformed envelope, as a non-object parameters is").isEqualTo(400);
        assertThat(json(notABoolean).at("/errors/0/pointer").asText()).isEqualTo("/stream");
        assertProblem(server.postJson("/api/v1/models/ns-sst2/predict", "{\"inputs\": [\"a\", \"b\"], \"stream\": true}"),
                "/stream");
        HttpResponse<String> list = server.postJson(PATH, "{\"inputs\": [\"a\", \"b\"], \"stream\": true}");
        assertProblem(list, "/inputs");
        assertProblem(server.postJson(PATH, "{\"instances\": [\"a\", \"b\"], \"stream\": true}"), "/inputs");
        HttpResponse<String> tooLong = server.postJson(PATH, "{\"inputs\": \"" + "the cat sat on the mat. ".repeat(12)
                + "\", \"stream\": true}");
        assertThat(tooLong.statusCode()).as(tooLong.body()).isEqualTo(422);
        assertThat(tooLong.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(json(tooLong).get("detail").asText()).contains("context is 64 tokens");
        HttpResponse<String> badParameter = server.postJson(PATH, "{\"inputs\": \"Hello\", \"stream\": true, "
                + "\"parameters\": {\"temperature\": -1, \"do_sample\": true}}");
        assertProblem(badParameter, "/parameters/temperature");

        assertThat(json(server.postJson("/api/v1/models/ns-sst2/predict", "{\"inputs\": \"I loved it\"}")).at("/0/label")
                .asText()).isNotEmpty();
        assertThat(stream(PATH, "{\"inputs\": \"Hello\", \"parameters\": {\"max_new_tokens\": 2}, \"stream\": true}"))
                .hasSize(2);
    }

    @Test
    void anotherTenantCannotStreamTheModelNorCanACallerWithoutACredential() {
        String other = server.newUser("ns-other-tenant");
        String body = "{\"inputs\": \"Hello\", \"parameters\": {\"max_new_tokens\": 2}, \"stream\": true}";
        HttpResponse<String> foreign = server.send(HttpRequest.newBuilder(server.uri(PATH))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + other)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertThat(foreign.statusCode()).as(foreign.body()).isEqualTo(404);
        assertThat(foreign.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(foreign.body()).doesNotContain("data:");
        HttpResponse<String> anonymous = server.sendRaw(HttpRequest.newBuilder(server.uri(PATH))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertThat(anonymous.statusCode()).as(anonymous.body()).isEqualTo(401);
        assertThat(stream(PATH, body)).as("the owner still streams").hasSize(2);
    }

    @Test
    void aClientThatHangsUpMidStreamFreesItsGenerationsSlot() throws IOException {
        // A raw connection, so that the test decides when it closes: after the first token event.
        String body = "{\"inputs\": \"Hi\", \"parameters\": {\"max_new_tokens\": 60}, \"stream\": true}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("127.0.0.1", server.uri("/").getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + server.adminKey()
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertThat(status).isEqualTo("HTTP/1.1 200 OK");
            String line;
            while ((line = in.readLine()) != null && !line.contains("data: {")) {
                // headers, the chunk sizes and the opening comment
            }
            assertThat(line).as("a first token event").contains("\"token\"");
        }
        Pattern gauge = Pattern.compile("serveml_calls_in_flight\\{model=\"" + MODEL + "\",version=\"1\"} ([0-9.]+)");
        Poll.until(() -> {
            Matcher m = gauge.matcher(server.get("/metrics").body());
            return m.find() && Double.parseDouble(m.group(1)) == 0;
        }, Duration.ofSeconds(30), "serveml_calls_in_flight back to 0 for " + MODEL);
        assertThat(predict("{\"inputs\": \"Hi\", \"parameters\": {\"max_new_tokens\": 2}}").at("/0/generated_text")
                .asText()).startsWith("Hi");
    }

    private static void assertProblem(HttpResponse<String> r, String pointer) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(json(r).at("/errors/0/pointer").asText()).as(r.body()).isEqualTo(pointer);
    }

    /** The texts of the tokens that are not special: what the stream added to the answer. */
    private static String texts(List<JsonNode> events) {
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events) {
            if (!e.at("/token/special").asBoolean()) {
                text.append(e.at("/token/text").asText());
            }
        }
        return text.toString();
    }

    /** The stream's events' data, parsed, after checking it is one ({@code text/event-stream}, 200). */
    private static List<JsonNode> stream(String path, String body) {
        HttpRequest request = HttpRequest.newBuilder(server.uri(path)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + server.adminKey())
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<Stream<String>> r;
        try {
            r = java.net.http.HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofLines());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        try (Stream<String> lines = r.body()) {
            lines.filter(l -> l.startsWith("data: ")).forEach(l -> {
                try {
                    events.add(JSON.readTree(l.substring(6)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        assertThat(events).as("the last event has the answer").isNotEmpty();
        assertThat(events.get(events.size() - 1).get("details").isObject()).as(events.toString()).isTrue();
        return events;
    }

    private static JsonNode predict(String body) {
        HttpResponse<String> r = server.postJson(PATH, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
