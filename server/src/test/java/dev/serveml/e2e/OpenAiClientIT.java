package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.runtime.text.RepoZip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Issue 15: the official OpenAI JavaScript client (npm {@code openai}, installed into build/node
 * by scripts/install-test-deps, run with the machine's node) lists models, retrieves one and
 * creates embeddings (float, base64, the client's own default, truncated dimensions) against
 * ServeML's /v1 with a ServeML API key, and gets its own error classes with OpenAI's error body
 * for an unknown model (404), a wrong or missing key (401) and a model that does not embed (400).
 * Over plain HTTP: another tenant neither lists nor embeds with a private model (404), a key
 * without the predict scope is refused (403), and the rate limit answers in OpenAI's shape. Chat
 * completions and streams (chat and text completions): the same text streamed and not, the role
 * chunk first, include_usage's usage chunk, stop strings cut, logprobs; a client that leaves a
 * stream stops its generation (serveml_calls_in_flight back to 0).
 */
class OpenAiClientIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static String key;
    static final List<String> TEXTS = List.of("The movie was great fun.", "A boring, slow film");

    @BeforeAll
    static void start() {
        server = shared.server();
        String token = server.newUser("oa-alice");
        server.useCredential(token);
        for (Map.Entry<String, String> e : Map.of("oa-encoder", "bert-tiny-encoder", "oa-sst2", "bert-tiny-sst2",
                "oa-gpt2", "gpt2-tiny").entrySet()) {
            HttpResponse<String> r = server.upload(e.getKey(), e.getValue() + ".zip", RepoZip.of(e.getValue()).bytes());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        }
        key = server.createKey(token, "openai-client", "[\"predict\"]");
    }

    /** The npm openai client in build/node, or the test is skipped where node or the client is missing. */
    static Path openAiModule() {
        Path root = Path.of(System.getenv().getOrDefault("SERVEML_ROOT", "..")).toAbsolutePath().normalize();
        Path module = root.resolve("build/node/node_modules/openai");
        boolean node;
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            node = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            node = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        SystemRequirements.require(node, "node is not installed (apt-get install nodejs)");
        SystemRequirements.require(Files.isRegularFile(module.resolve("package.json")),
                "the npm openai client is not in build/node (run scripts/install-test-deps)");
        return module;
    }

    private static JsonNode runClient(Path module) throws Exception {
        Path script = Path.of(OpenAiClientIT.class.getResource("/openai/client.cjs").toURI());
        ProcessBuilder b = new ProcessBuilder("node", script.toString());
        b.environment().putAll(Map.of("OPENAI_MODULE", module.toString(), "BASE_URL",
                server.uri("/v1").toString(), "API_KEY", key, "MODEL", "oa-encoder", "OTHER_MODEL", "oa-sst2",
                "TEXTS", TestServer.JSON.writeValueAsString(TEXTS)));
        Path err = Files.createTempFile("openai-client", ".err");
        b.redirectError(err.toFile());
        Process p = b.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String stderr = Files.readString(err);
        Files.delete(err);
        assertThat(p.exitValue()).as(stderr).isZero();
        return TestServer.JSON.readTree(new String(out, StandardCharsets.UTF_8));
    }

    /** The native route's vectors for the same texts: what every /v1 answer must equal. */
    private static List<double[]> nativeVectors() throws IOException {
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/oa-encoder/predict"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": " + TestServer.JSON.writeValueAsString(TEXTS)
                        + "}")).build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<double[]> out = new ArrayList<>();
        for (JsonNode v : json(r)) {
            out.add(doubles(v));
        }
        return out;
    }

    private static double[] doubles(JsonNode array) {
        double[] d = new double[array.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = array.get(i).asDouble();
        }
        return d;
    }

    private static void assertSameVector(JsonNode actual, double[] expected) {
        assertThat(actual.size()).isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual.get(i).asDouble()).as("element %d", i).isCloseTo(expected[i], within(1e-5));
        }
    }

    private static void assertOpenAiError(JsonNode failure, int status, String className, String type, String code) {
        assertThat(failure.get("status").asInt()).as(failure.toString()).isEqualTo(status);
        assertThat(failure.get("name").asText()).isEqualTo(className);
        JsonNode error = failure.get("error");
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asText()).isEqualTo(code);
        assertThat(error.get("message").asText()).isNotBlank();
        assertThat(error.has("param")).isTrue();
        assertThat(error.toString()).doesNotContain("Exception", "/tmp", "/work", "java.");
    }

    /** The native route's greedy continuation (the prompt left out), what /v1/completions must equal. */
    private static String nativeGreedy(String prompt, int tokens) throws IOException {
        HttpResponse<String> r = server.sendRaw(HttpRequest.newBuilder(server.uri("/api/v1/models/oa-gpt2/predict"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": " + TestServer.JSON.writeValueAsString(prompt)
                        + ", \"parameters\": {\"max_new_tokens\": " + tokens + ", \"return_full_text\": false}}"))
                .build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).at("/0/generated_text").asText();
    }

    @Test
    void theOfficialClientsCompletionsAreTheModelsGreedyTextWithOpenAisUsageAndErrors() throws Exception {
        Path module = openAiModule();
        String prompt = "Hello world";
        Path script = Path.of(OpenAiClientIT.class.getResource("/openai/completions.cjs").toURI());
        ProcessBuilder b = new ProcessBuilder("node", script.toString());
        b.environment().putAll(Map.of("OPENAI_MODULE", module.toString(), "BASE_URL", server.uri("/v1").toString(),
                "API_KEY", key, "MODEL", "oa-gpt2", "OTHER_MODEL", "oa-sst2", "PROMPT", prompt,
                "LONG_PROMPT", "tokens 123 and ".repeat(40)));
        Path err = Files.createTempFile("openai-completions", ".err");
        b.redirectError(err.toFile());
        Process p = b.start();
        byte[] bytes = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String stderr = Files.readString(err);
        Files.delete(err);
        assertThat(p.exitValue()).as(stderr).isZero();
        JsonNode out = TestServer.JSON.readTree(new String(bytes, StandardCharsets.UTF_8));

        JsonNode greedy = out.get("greedy");
        assertThat(greedy.get("object").asText()).isEqualTo("text_completion");
        assertThat(greedy.get("id").asText()).startsWith("cmpl-");
        assertThat(greedy.get("model").asText()).isEqualTo("oa-gpt2");
        assertThat(greedy.at("/choices/0/text").asText()).isEqualTo(nativeGreedy(prompt, 8)).isNotEmpty();
        assertThat(greedy.at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(greedy.at("/usage/prompt_tokens").asInt()).isEqualTo(2); // "Hello world": the fixture's 2 ids
        assertThat(greedy.at("/usage/completion_tokens").asInt()).isEqualTo(8);
        assertThat(greedy.at("/usage/total_tokens").asInt()).isEqualTo(10);

        JsonNode two = out.get("two");
        assertThat(two.get("choices").size()).isEqualTo(2);
        assertThat(two.at("/choices/1/index").asInt()).isEqualTo(1);
        assertThat(two.at("/choices/1/text").asText()).isEqualTo(nativeGreedy(prompt + " and", 4));
        assertThat(out.at("/sampled/0/choices/0/text").asText()).as("a seeded sample is the same sample")
                .isEqualTo(out.at("/sampled/1/choices/0/text").asText());
        assertThat(out.at("/echo/choices/0/text").asText()).isEqualTo(prompt + nativeGreedy(prompt, 3));

        for (String failure : List.of("tooLong", "notGeneration", "badTemperature")) {
            JsonNode f = out.get(failure);
            assertThat(f.get("status").asInt()).as(failure + ": " + f).isEqualTo(400);
            assertThat(f.get("badRequest").asBoolean()).isTrue();
            assertThat(f.at("/error/type").asText()).isEqualTo("invalid_request_error");
            assertThat(f.toString()).doesNotContain("Exception", "/tmp", "java.");
        }
        assertThat(out.at("/tooLong/error/message").asText()).contains("64");
        assertThat(out.at("/notGeneration/error/param").asText()).isEqualTo("model");
        assertThat(out.at("/badTemperature/error/param").asText()).isEqualTo("temperature");
    }

    /** The fixture's chat template (make_hf_fixtures.py) rendered for one user message, as transformers renders it. */
    private static String chatPrompt(String system, String user) {
        return (system == null ? "" : "system: " + system + "\n") + "user: " + user + "\nassistant:";
    }

    private static JsonNode runScript(String resource, Map<String, String> env) throws Exception {
        Path script = Path.of(OpenAiClientIT.class.getResource(resource).toURI());
        ProcessBuilder b = new ProcessBuilder("node", script.toString());
        b.environment().putAll(env);
        Path err = Files.createTempFile("openai-script", ".err");
        b.redirectError(err.toFile());
        Process p = b.start();
        byte[] bytes = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        String stderr = Files.readString(err);
        Files.delete(err);
        assertThat(p.exitValue()).as(stderr).isZero();
        return TestServer.JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
    }

    /** The text of a stream's chunks, joined: chat deltas' content or completions' text, for one choice. */
    private static String streamed(JsonNode chunks, int index) {
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            for (JsonNode choice : c.get("choices")) {
                if (choice.get("index").asInt() == index) {
                    JsonNode part = choice.has("delta") ? choice.at("/delta/content") : choice.get("text");
                    text.append(part == null || part.isMissingNode() || part.isNull() ? "" : part.asText());
                }
            }
        }
        return text.toString();
    }

    private static String finishOf(JsonNode chunks) {
        String finish = null;
        for (JsonNode c : chunks) {
            for (JsonNode choice : c.get("choices")) {
                if (!choice.get("finish_reason").isNull()) {
                    assertThat(finish).as("one finish per choice").isNull();
                    finish = choice.get("finish_reason").asText();
                }
            }
        }
        return finish;
    }

    /** What OpenAI answers for a text that stops at {@code stop}: the text before it. */
    private static String cut(String text, String stop) {
        int at = text.indexOf(stop);
        return at < 0 ? text : text.substring(0, at);
    }

    @Test
    void theOfficialClientsChatAndStreamsAreTheModelsTextWithTheTemplateUsageAndLogprobs() throws Exception {
        Path module = openAiModule();
        String prompt = "Hello world";
        String chatGreedy = nativeGreedy(chatPrompt(null, prompt), 8);
        String longer = nativeGreedy(chatPrompt(null, prompt), 12);
        // a stop string from the middle of the chat's 12-token text: its first place there is where it cuts
        int k = longer.length() / 2;
        while (longer.indexOf(longer.substring(k, k + 2)) != k) {
            k++;
        }
        String stop = longer.substring(k, k + 2);
        JsonNode out = runScript("/openai/chat.cjs", Map.of("OPENAI_MODULE", module.toString(), "BASE_URL",
                server.uri("/v1").toString(), "API_KEY", key, "MODEL", "oa-gpt2", "OTHER_MODEL", "oa-sst2",
                "PROMPT", prompt, "STOP", stop));

        // chat: the repository's template renders the prompt; the answer is the model's greedy text
        JsonNode chat = out.get("chat");
        assertThat(chat.get("object").asText()).isEqualTo("chat.completion");
        assertThat(chat.get("id").asText()).startsWith("chatcmpl-");
        assertThat(chat.get("model").asText()).isEqualTo("oa-gpt2");
        assertThat(chat.at("/choices/0/message/role").asText()).isEqualTo("assistant");
        assertThat(chat.at("/choices/0/message/content").asText()).isEqualTo(chatGreedy).isNotEmpty();
        assertThat(chat.at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(chat.at("/usage/completion_tokens").asInt()).isEqualTo(8);
        assertThat(chat.at("/usage/prompt_tokens").asInt()).isPositive();
        assertThat(chat.at("/usage/total_tokens").asInt()).isEqualTo(chat.at("/usage/prompt_tokens").asInt() + 8);
        assertThat(out.at("/chatWithSystem/choices/0/message/content").asText())
                .isEqualTo(nativeGreedy(chatPrompt("Be brief.", prompt), 8));

        // streamed: the role first, then content deltas that join to the same text, the finish, the usage
        JsonNode stream = out.get("chatStream");
        assertThat(stream.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        for (JsonNode c : stream) {
            assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("id").asText()).isEqualTo(stream.get(0).get("id").asText()).startsWith("chatcmpl-");
        }
        assertThat(stream.size()).as("more than one content chunk").isGreaterThan(3);
        assertThat(streamed(stream, 0)).isEqualTo(chatGreedy);
        assertThat(finishOf(stream)).isEqualTo("length");
        JsonNode last = stream.get(stream.size() - 1);
        assertThat(last.get("choices").size()).isZero();
        assertThat(last.get("usage")).isEqualTo(chat.get("usage"));
        JsonNode plain = out.get("chatStreamPlain");
        assertThat(streamed(plain, 0)).isEqualTo(chatGreedy);
        for (JsonNode c : plain) {
            assertThat(c.get("choices").size()).as("no usage chunk unless asked").isEqualTo(1);
        }

        // a stop string: cut from the text, streamed or not, and never streamed in part
        assertThat(out.at("/chatStop/choices/0/message/content").asText()).isEqualTo(cut(longer, stop));
        assertThat(out.at("/chatStop/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(streamed(out.get("chatStopStream"), 0)).isEqualTo(cut(longer, stop));
        assertThat(finishOf(out.get("chatStopStream"))).isEqualTo("stop");

        // logprobs: one entry per token, the greedy token the likeliest of its alternatives
        JsonNode content = out.at("/chatLogprobs/choices/0/logprobs/content");
        assertThat(content.size()).isEqualTo(8);
        StringBuilder joined = new StringBuilder();
        for (JsonNode t : content) {
            joined.append(t.get("token").asText());
            assertThat(t.get("logprob").asDouble()).isNegative();
            assertThat(t.get("bytes").size()).isEqualTo(t.get("token").asText().getBytes(StandardCharsets.UTF_8).length);
            assertThat(t.get("top_logprobs").size()).isEqualTo(2);
            assertThat(t.at("/top_logprobs/0/token").asText()).isEqualTo(t.get("token").asText());
            assertThat(t.at("/top_logprobs/0/logprob").asDouble()).isCloseTo(t.get("logprob").asDouble(), within(1e-6));
            assertThat(t.at("/top_logprobs/1/logprob").asDouble()).isLessThanOrEqualTo(t.get("logprob").asDouble());
        }
        assertThat(joined.toString()).isEqualTo(chatGreedy);
        // streamed, each token's entry comes with its chunk: the same entries in the same order
        List<JsonNode> streamedEntries = new ArrayList<>();
        for (JsonNode c : out.get("chatLogprobsStream")) {
            JsonNode entries = c.at("/choices/0/logprobs/content");
            if (!entries.isMissingNode()) {
                entries.forEach(streamedEntries::add);
            }
        }
        assertThat(streamedEntries).hasSize(8);
        for (int i = 0; i < 8; i++) {
            assertThat(streamedEntries.get(i).get("token")).isEqualTo(content.get(i).get("token"));
            assertThat(streamedEntries.get(i).get("logprob").asDouble())
                    .isCloseTo(content.get(i).get("logprob").asDouble(), within(1e-6));
        }
        assertThat(streamed(out.get("chatLogprobsStream"), 0)).isEqualTo(chatGreedy);
        assertThat(out.at("/chatTwo/choices").size()).isEqualTo(2);
        assertThat(out.at("/chatTwo/choices/1/index").asInt()).isEqualTo(1);

        // completions, streamed: the same text as the answer in one piece, the usage chunk last
        JsonNode completion = out.get("completion");
        String text = completion.at("/choices/0/text").asText();
        assertThat(text).isEqualTo(nativeGreedy(prompt, 8));
        JsonNode cs = out.get("completionStream");
        assertThat(streamed(cs, 0)).isEqualTo(text);
        assertThat(finishOf(cs)).isEqualTo("length");
        assertThat(cs.get(0).get("object").asText()).isEqualTo("text_completion");
        assertThat(cs.get(cs.size() - 1).get("usage")).isEqualTo(completion.get("usage"));
        String completionLonger = nativeGreedy(prompt, 12);
        assertThat(out.at("/completionStop/choices/0/text").asText()).isEqualTo(cut(completionLonger, stop));
        assertThat(streamed(out.get("completionStopStream"), 0)).isEqualTo(cut(completionLonger, stop));
        assertThat(streamed(out.get("completionEchoStream"), 0)).isEqualTo(prompt + nativeGreedy(prompt, 3));
        JsonNode legacy = out.at("/completionLogprobs/choices/0/logprobs");
        assertThat(legacy.get("tokens").size()).isEqualTo(8);
        assertThat(legacy.get("token_logprobs").size()).isEqualTo(8);
        assertThat(legacy.get("top_logprobs").get(0).size()).isBetween(1, 2);
        assertThat(legacy.at("/text_offset/0").asInt()).isZero();
        StringBuilder pieces = new StringBuilder();
        legacy.get("tokens").forEach(t -> pieces.append(t.asText()));
        assertThat(pieces.toString()).isEqualTo(text);
        List<String> streamedTokens = new ArrayList<>();
        for (JsonNode c : out.get("completionLogprobsStream")) {
            c.at("/choices/0/logprobs/tokens").forEach(t -> streamedTokens.add(t.asText()));
        }
        List<String> tokens = new ArrayList<>();
        legacy.get("tokens").forEach(t -> tokens.add(t.asText()));
        assertThat(streamedTokens).isEqualTo(tokens);

        // refusals before the first chunk are ordinary OpenAI errors, streamed request or not
        assertThat(out.at("/badRole/status").asInt()).isEqualTo(400);
        assertThat(out.at("/badRole/error/param").asText()).isEqualTo("messages.0.role");
        assertThat(out.at("/notGeneration/status").asInt()).isEqualTo(400);
        assertThat(out.at("/notGeneration/error/param").asText()).isEqualTo("model");
        assertThat(out.at("/tooLong/status").asInt()).isEqualTo(400);
        assertThat(out.at("/tooLong/error/param").asText()).isEqualTo("messages");
        assertThat(out.at("/tooLong/error/message").asText()).contains("64");
        assertThat(out.toString()).doesNotContain("Exception", "java.", "/tmp");
    }

    /** The fixture with its chat template replaced by {@code template}. */
    private static byte[] withTemplate(String template) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode config = (com.fasterxml.jackson.databind.node.ObjectNode)
                TestServer.JSON.readTree(OpenAiClientIT.class.getResourceAsStream("/fixtures/hf/gpt2-tiny/tokenizer_config.json"));
        config.put("chat_template", template);
        return RepoZip.of("gpt2-tiny").with("gpt2-tiny/tokenizer_config.json", TestServer.JSON.writeValueAsBytes(config)).bytes();
    }

    @Test
    void aTenantsHostileChatTemplateReachesNoJavaObjectNoFileAndNoEndlessLoopAndTheNextModelStillChats()
            throws IOException {
        Map<String, String> attacks = new java.util.LinkedHashMap<>();
        attacks.put("oa-tpl-class", "{{ messages.getClass().forName('java.lang.Runtime').getRuntime().exec('id') }}");
        attacks.put("oa-tpl-file", "{% include 'logback.xml' %}{% include '/etc/passwd' %}");
        attacks.put("oa-tpl-loops", "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                + "{% endfor %}{% endfor %}{% endfor %}user: x\nassistant:");
        attacks.put("oa-tpl-huge", "{% set s = 'xxxxxxxxxxxxxxxx' %}{% for i in range(64) %}{% set s = s ~ s %}"
                + "{% endfor %}{{ s }}");
        String chat = "{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello world\"}], "
                + "\"max_completion_tokens\": 4, \"temperature\": 0, \"stream\": %s}";
        for (Map.Entry<String, String> attack : attacks.entrySet()) {
            HttpResponse<String> up = server.upload(attack.getKey(), "gpt2-tiny.zip", withTemplate(attack.getValue()));
            assertThat(up.statusCode()).as(up.body()).isEqualTo(201);
            for (boolean stream : new boolean[]{false, true}) {
                JsonNode error = assertOpenAiError(as(key, "POST", "/v1/chat/completions",
                        chat.formatted(attack.getKey(), stream)), 400, "invalid_request_error", "invalid-input");
                assertThat(error.get("param").asText()).as(attack.getKey()).isEqualTo("messages");
                assertThat(error.get("message").asText()).as(attack.getKey()).contains("chat template")
                        .doesNotContain("java.", "com.hubspot", "Exception", "uid=", "root:", "<configuration");
            }
        }
        // the legitimate model next to them still answers with its own template
        HttpResponse<String> ok = as(key, "POST", "/v1/chat/completions", chat.formatted("oa-gpt2", false));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(json(ok).at("/choices/0/message/content").asText())
                .isEqualTo(nativeGreedy(chatPrompt(null, "Hello world"), 4));
    }

    /** serveml_calls_in_flight for the fixture's generator, from /metrics. */
    private static double inFlight() {
        for (String line : as(server.adminKey(), "GET", "/metrics", null).body().split("\n")) {
            if (line.startsWith("serveml_calls_in_flight{") && line.contains("model=\"oa-gpt2\"")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return -1;
    }

    private static String inFlightLines() {
        StringBuilder out = new StringBuilder();
        for (String line : as(server.adminKey(), "GET", "/metrics", null).body().split("\n")) {
            if (line.contains("in_flight")) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    @Test
    void aClientThatLeavesMidStreamStopsTheGenerationAndFreesItsSlot() throws Exception {
        // One row's 40 tokens, timed: the whole request below is 256 such rows (the most one request has).
        String timed = "{\"model\": \"oa-gpt2\", \"prompt\": \"Hello world %s\", \"max_tokens\": 40, \"temperature\": 0}";
        assertThat(as(key, "POST", "/v1/completions", timed.formatted("warm")).statusCode()).isEqualTo(200);
        long started = System.nanoTime();
        HttpResponse<String> one = as(key, "POST", "/v1/completions", timed.formatted("timed")); // not a cached prompt
        long oneRow = System.nanoTime() - started;
        assertThat(json(one).at("/usage/completion_tokens").asInt()).as(one.body()).isEqualTo(40);
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            prompts.add("Hello world " + i);
        }
        String body = "{\"model\": \"oa-gpt2\", \"prompt\": " + TestServer.JSON.writeValueAsString(prompts)
                + ", \"n\": 16, \"max_tokens\": 40, \"temperature\": 0, \"stream\": true}";
        java.net.URI uri = server.uri("/v1/completions");
        long left;
        try (java.net.Socket socket = new java.net.Socket(uri.getHost(), uri.getPort())) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: " + uri.getHost() + "\r\n"
                    + "Authorization: Bearer " + key + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.UTF_8));
            String status = in.readLine();
            if (!"HTTP/1.1 200 OK".equals(status)) {
                StringBuilder rest = new StringBuilder(status);
                for (String l = in.readLine(); l != null && rest.length() < 4000; l = in.readLine()) {
                    rest.append('\n').append(l);
                }
                assertThat(rest.toString()).startsWith("HTTP/1.1 200 OK");
            }
            String line;
            int chunks = 0;
            while (chunks < 3 && (line = in.readLine()) != null) {
                if (line.startsWith("data: {")) {
                    assertThat(line).contains("\"text_completion\"");
                    chunks++;
                }
            }
            assertThat(chunks).isEqualTo(3);
            assertThat(inFlight()).as("the generation runs: %s", inFlightLines()).isEqualTo(1.0);
            left = System.nanoTime();
        } // the client leaves
        Poll.until(() -> inFlight() == 0.0, java.time.Duration.ofSeconds(120), "the generation to stop");
        long stopped = System.nanoTime() - left;
        // Its 256 rows would have run about 256 x oneRow; once the client left, each remaining row ends
        // at its first token (a fortieth of a row).
        System.out.printf("one row %d ms; stopped %d ms after the client left%n", oneRow / 1_000_000, stopped / 1_000_000);
        assertThat(stopped).as("stopped in %d ms where the whole would take about %d ms", stopped / 1_000_000,
                256 * oneRow / 1_000_000).isLessThan(256 * oneRow / 4);
        // and the model serves the next caller at once
        assertThat(nativeGreedy("Hello world", 4)).isNotEmpty();
        HttpResponse<String> same = as(key, "POST", "/v1/completions", body.replace("\"stream\": true", "\"stream\": false"));
        // The cancelled stream's answer (its rows cut short) was not stored in the response cache: the
        // same request is a miss and every row is the model's whole greedy text.
        assertThat(same.statusCode()).as(same.body()).isEqualTo(200);
        assertThat(same.headers().firstValue("X-Cache")).hasValue("miss");
        JsonNode whole = json(same);
        for (int j = 0; j < 16; j++) {
            assertThat(whole.at("/choices/" + (16 * j + 15) + "/text").asText()).isEqualTo(nativeGreedy("Hello world " + j, 40));
            assertThat(whole.at("/choices/" + (16 * j + 15) + "/finish_reason").asText()).isNotEqualTo("cancelled");
        }
    }

    @Test
    void theOfficialClientListsModelsAndEmbedsEqualToTheNativeRoute() throws Exception {
        Path module = openAiModule();
        JsonNode out = runClient(module);
        List<double[]> expected = nativeVectors();

        List<String> ids = new ArrayList<>();
        out.get("list").forEach(id -> ids.add(id.asText()));
        assertThat(ids).contains("oa-encoder", "oa-sst2");
        assertThat(out.at("/retrieved/id").asText()).isEqualTo("oa-encoder");
        assertThat(out.at("/retrieved/object").asText()).isEqualTo("model");
        assertThat(out.at("/retrieved/owned_by").asText()).isEqualTo("oa-alice");
        assertThat(out.at("/retrieved/created").asLong()).isPositive();

        JsonNode plain = out.get("float");
        assertThat(plain.get("object").asText()).isEqualTo("list");
        assertThat(plain.get("model").asText()).isEqualTo("oa-encoder");
        int tokens = 0;
        try (ai.djl.huggingface.tokenizers.HuggingFaceTokenizer tokenizer = ai.djl.huggingface.tokenizers
                .HuggingFaceTokenizer.newInstance(Path.of(getClass().getResource("/fixtures/hf/bert-tiny-encoder").toURI()))) {
            for (String text : TEXTS) {
                tokens += tokenizer.encode(text).getIds().length;
            }
        }
        assertThat(plain.at("/usage/prompt_tokens").asInt()).as("the model tokenizer's count").isEqualTo(tokens);
        assertThat(plain.at("/usage/total_tokens").asInt()).isEqualTo(plain.at("/usage/prompt_tokens").asInt());
        assertThat(plain.get("data").size()).isEqualTo(2);
        for (int i = 0; i < 2; i++) {
            assertThat(plain.at("/data/" + i + "/object").asText()).isEqualTo("embedding");
            assertThat(plain.at("/data/" + i + "/index").asInt()).isEqualTo(i);
            assertSameVector(plain.at("/data/" + i + "/embedding"), expected.get(i));
            assertThat(out.at("/base64/" + i + "/type").asText()).isEqualTo("string");
            assertSameVector(out.at("/base64/" + i + "/embedding"), expected.get(i));
        }
        assertSameVector(out.at("/defaulted/0"), expected.get(0));

        // dimensions: the first 8 values, scaled back to unit length.
        JsonNode shortened = out.get("dimensions");
        assertThat(shortened.size()).isEqualTo(8);
        double norm = 0;
        for (int j = 0; j < 8; j++) {
            norm += expected.get(0)[j] * expected.get(0)[j];
        }
        double scale = 1 / Math.sqrt(norm);
        for (int j = 0; j < 8; j++) {
            assertThat(shortened.get(j).asDouble()).isCloseTo(expected.get(0)[j] * scale, within(1e-5));
        }

        assertOpenAiError(out.get("unknownModel"), 404, "NotFoundError", "not_found_error", "model-not-found");
        assertThat(out.at("/unknownModel/notFound").asBoolean()).isTrue();
        assertOpenAiError(out.get("retrieveUnknown"), 404, "NotFoundError", "not_found_error", "model-not-found");
        assertOpenAiError(out.get("notEmbedding"), 400, "BadRequestError", "invalid_request_error", "invalid-request");
        assertThat(out.at("/notEmbedding/error/param").asText()).isEqualTo("model");
        assertOpenAiError(out.get("tooManyDimensions"), 400, "BadRequestError", "invalid_request_error",
                "invalid-request");
        assertThat(out.at("/tooManyDimensions/error/param").asText()).isEqualTo("dimensions");
        assertOpenAiError(out.get("wrongKey"), 401, "AuthenticationError", "authentication_error", "invalid-api-key");
        assertOpenAiError(out.get("noKey"), 401, "AuthenticationError", "authentication_error",
                "authentication-required");
    }

    private static HttpResponse<String> as(String credential, String method, String path, String body) {
        return server.sendRaw(AccessAbuseIT.request(server, credential, method, path, body));
    }

    private static JsonNode assertOpenAiError(HttpResponse<String> r, int status, String type, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode body = json(r);
        assertThat(body.size()).isEqualTo(1);
        JsonNode error = body.get("error");
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asText()).isEqualTo(code);
        assertThat(error.has("param")).isTrue();
        assertThat(error.get("message").asText()).isNotBlank();
        return error;
    }

    @Test
    void anotherTenantNeitherSeesNorEmbedsWithAPrivateModel() {
        String token = server.newUser("oa-mallory");
        String mallory = server.createKey(token, "mallory", "[\"predict\"]");
        String embed = "{\"model\": \"oa-encoder\", \"input\": \"steal\"}";

        JsonNode list = json(as(mallory, "GET", "/v1/models", null));
        assertThat(list.get("object").asText()).isEqualTo("list");
        assertThat(list.get("data").toString()).doesNotContain("oa-encoder", "oa-sst2");
        assertOpenAiError(as(mallory, "GET", "/v1/models/oa-encoder", null), 404, "not_found_error",
                "model-not-found");
        JsonNode refused = assertOpenAiError(as(mallory, "POST", "/v1/embeddings", embed), 404, "not_found_error",
                "model-not-found");
        // The same answer as for a name nobody uses: nothing tells her the model exists.
        JsonNode unknown = assertOpenAiError(as(mallory, "POST", "/v1/embeddings",
                "{\"model\": \"oa-nobody\", \"input\": \"x\"}"), 404, "not_found_error", "model-not-found");
        assertThat(refused.get("message").asText().replace("oa-encoder", "X"))
                .isEqualTo(unknown.get("message").asText().replace("oa-nobody", "X"));

        // The owner, next to her, still embeds.
        HttpResponse<String> ok = as(key, "POST", "/v1/embeddings", embed);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(json(ok).at("/data/0/embedding").size()).isPositive();
    }

    @Test
    void aDeploymentIsListedByItsNameAndEmbedsThroughItsTrafficPolicy() throws IOException {
        String token = server.login("oa-alice", "password-of-oa-alice");
        HttpResponse<String> created = as(token, "POST", "/api/v1/deployments", "{\"name\": \"oa-embedder\", "
                + "\"model\": \"oa-encoder\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        Poll.until(() -> json(as(token, "GET", "/api/v1/deployments/oa-embedder", null)).get("status").asText(),
                "active"::equals, java.time.Duration.ofSeconds(60), "the deployment to become active");

        JsonNode list = json(as(key, "GET", "/v1/models", null));
        assertThat(list.get("data").findValuesAsText("id")).contains("oa-embedder", "oa-encoder");
        JsonNode one = json(as(key, "GET", "/v1/models/oa-embedder", null));
        assertThat(one.get("id").asText()).isEqualTo("oa-embedder");
        assertThat(one.get("object").asText()).isEqualTo("model");

        HttpResponse<String> r = as(key, "POST", "/v1/embeddings", "{\"model\": \"oa-embedder\", \"input\": "
                + TestServer.JSON.writeValueAsString(TEXTS) + "}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = json(r);
        assertThat(body.get("model").asText()).isEqualTo("oa-embedder");
        List<double[]> expected = nativeVectors();
        for (int i = 0; i < 2; i++) {
            assertSameVector(body.at("/data/" + i + "/embedding"), expected.get(i));
        }
        // Another tenant's key cannot reach it by its name either.
        String mallory = server.createKey(server.newUser("oa-eve"), "eve", "[\"predict\"]");
        assertOpenAiError(as(mallory, "POST", "/v1/embeddings", "{\"model\": \"oa-embedder\", \"input\": \"x\"}"),
                404, "not_found_error", "model-not-found");
        assertThat(json(as(mallory, "GET", "/v1/models", null)).get("data").toString()).doesNotContain("oa-embedder");
    }

    @Test
    void aKeyWithoutThePredictScopeIsRefusedInOpenAisShape() {
        String token = server.login("oa-alice", "password-of-oa-alice");
        String readOnly = server.createKey(token, "read-only", "[\"models:read\"]");
        assertOpenAiError(as(readOnly, "GET", "/v1/models", null), 403, "permission_error", "insufficient-scope");
        assertOpenAiError(as(readOnly, "POST", "/v1/embeddings", "{\"model\": \"oa-encoder\", \"input\": \"x\"}"),
                403, "permission_error", "insufficient-scope");
    }

    @Test
    void aKeysRateLimitCountsEmbeddingsAndAnswers429InOpenAisShape() {
        String token = server.login("oa-alice", "password-of-oa-alice");
        HttpResponse<String> created = as(token, "POST", "/api/v1/api-keys",
                "{\"name\": \"slow\", \"scopes\": [\"predict\"], \"rate_limit_per_minute\": 1}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String slow = json(created).get("key").asText();
        String embed = "{\"model\": \"oa-encoder\", \"input\": \"x\"}";
        HttpResponse<String> first = as(slow, "POST", "/v1/embeddings", embed);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        HttpResponse<String> second = as(slow, "POST", "/v1/embeddings", embed);
        assertOpenAiError(second, 429, "rate_limit_error", "rate-limited");
        assertThat(second.headers().firstValue("Retry-After")).isPresent();
        assertThat(second.headers().firstValue("RateLimit-Limit")).hasValue("1");
    }

    @Test
    void badRequestsNameTheirParameterAndTheModelStillAnswers() {
        JsonNode tokens = assertOpenAiError(as(key, "POST", "/v1/embeddings",
                "{\"model\": \"oa-encoder\", \"input\": [[1, 2, 3]]}"), 400, "invalid_request_error", "invalid-request");
        assertThat(tokens.get("param").asText()).isEqualTo("input.0");
        assertThat(tokens.get("message").asText()).contains("token-id");
        JsonNode format = assertOpenAiError(as(key, "POST", "/v1/embeddings",
                "{\"model\": \"oa-encoder\", \"input\": \"x\", \"encoding_format\": \"int8\"}"), 400,
                "invalid_request_error", "invalid-request");
        assertThat(format.get("param").asText()).isEqualTo("encoding_format");
        JsonNode malformed = assertOpenAiError(as(key, "POST", "/v1/embeddings", "{\"model\": "), 400,
                "invalid_request_error", "malformed-json");
        assertThat(malformed.get("param").isNull()).isTrue();
        assertOpenAiError(as(key, "GET", "/v1/no-such-route", null), 404, "not_found_error", "not-found");
        HttpResponse<String> ok = as(key, "POST", "/v1/embeddings",
                "{\"model\": \"oa-encoder\", \"input\": [\"x\", \"y\"], \"user\": \"someone\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(json(ok).get("data").size()).isEqualTo(2);
    }
}
