package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.config.RuntimeConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.TokenSink;
import dev.serveml.runtime.Resources;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The text-generation task on the gpt2-tiny fixture: its greedy loop with the KV cache gives the
 * ids of make_hf_fixtures.py's plain torch loop token for token, a seeded sample is the same run
 * to run, and bad calls are 422s that name what is wrong.
 */
class TextGeneratorTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private TextModelRuntime runtime;
    private TextLoadedModel model;

    @BeforeEach
    void open() {
        runtime = new TextModelRuntime(new RuntimeConfig(1, 1, 1000, 16), dir.resolve("run"), 64 << 20);
    }

    @AfterEach
    void close() {
        if (model != null) {
            model.close();
        }
        runtime.close();
    }

    @Test
    void aCausalLmArchitectureOrTheTextGenerationTagChoosesTheTask() throws IOException {
        String config = new String(java.nio.file.Files.readAllBytes(HfFixtures.load().repo("gpt2-tiny")
                .resolve("config.json")), StandardCharsets.UTF_8);
        load(RepoZip.of("gpt2-tiny").with("gpt2-tiny/config.json", config.replace("GPT2LMHeadModel", "LlamaForCausalLM")
                .getBytes(StandardCharsets.UTF_8)));
        assertThat(model.metadata()).containsEntry("task", "text-generation").containsEntry("task_source", "config.json");
        model.close();
        model = null;
        load(RepoZip.of("gpt2-tiny").with("gpt2-tiny/config.json", config.replace("\"GPT2LMHeadModel\"", "")
                .getBytes(StandardCharsets.UTF_8)).with("gpt2-tiny/serveml.json",
                "{\"pipeline_tag\": \"text-generation\"}".getBytes(StandardCharsets.UTF_8)));
        assertThat(model.metadata()).containsEntry("task", "text-generation").containsEntry("task_source", "pipeline_tag");
    }

    @Test
    void optimumsMergedDecoderBesideItsOtherExportsIsServedFeedingUseCacheBranch() throws IOException {
        byte[] decoy = java.nio.file.Files.readAllBytes(HfFixtures.load().repo("bert-tiny-mlm").resolve("onnx/model.onnx"));
        // Optimum's layout: decoder_model.onnx and decoder_with_past_model.onnx beside the merged one
        Generator generator = load(RepoZip.of("gpt2-tiny-merged").with("gpt2-tiny-merged/onnx/decoder_model.onnx", decoy)
                .with("gpt2-tiny-merged/onnx/decoder_with_past_model.onnx", decoy));
        assertThat(model.metadata()).containsEntry("onnx_file", "onnx/decoder_model_merged.onnx");
        for (JsonNode c : expected().path("greedy")) {
            Generator.Generation g = generator.generate(c.path("prompt").asText(), "/inputs",
                    generator.settings(parameters(Map.of("max_new_tokens", c.path("max_new_tokens").asLong()))),
                    TokenSink.NONE);
            assertThat(g.ids()).as(c.path("prompt").asText()).containsExactly(longs(c.path("generated_ids")));
        }
    }

    private Generator load(RepoZip zip) {
        model = (TextLoadedModel) runtime.load(new LoadRequest(zip.write(dir.resolve("gpt2-tiny.zip")),
                TextModelRuntime.FORMAT, "gpt2-tiny.zip", "gpt2-tiny", "gpt2-tiny v1", Optional.empty(),
                Resources.DEFAULT));
        return Generator.of(model).orElseThrow(); // as a route would find it
    }

    private static JsonNode expected() throws IOException {
        return JSON.readTree(HfFixtures.class.getResource("/fixtures/hf/expected.json")).path("generation");
    }

    private static Parameters parameters(Map<String, Object> values) {
        return new Parameters(values);
    }

    private static List<Tensor> text(String... texts) {
        List<byte[]> rows = new ArrayList<>();
        for (String t : texts) {
            rows.add(t.getBytes(StandardCharsets.UTF_8));
        }
        return List.of(Tensor.ofBytes("text", new long[]{texts.length}, rows));
    }

    @Test
    void greedyGenerationWithTheCacheGivesTorchsIdsTokenForToken() throws IOException {
        Generator generator = load(RepoZip.of("gpt2-tiny"));
        assertThat(model.metadata()).containsEntry("task", "text-generation").containsEntry("max_length", 64);
        assertThat(model.batchable()).isFalse();
        JsonNode cases = expected().path("greedy");
        assertThat(cases.size()).isGreaterThanOrEqualTo(3);
        for (JsonNode c : cases) {
            Generator.Settings settings = generator.settings(parameters(Map.of("max_new_tokens",
                    c.path("max_new_tokens").asLong())));
            List<Long> streamed = new ArrayList<>();
            StringBuilder deltas = new StringBuilder();
            Generator.Generation g = generator.generate(c.path("prompt").asText(), "/inputs", settings,
                    (row, token) -> {
                        streamed.add(token.id());
                        deltas.append(token.delta());
                        return true;
                    });
            assertThat(g.promptIds()).as(c.path("prompt").asText()).containsExactly(longs(c.path("prompt_ids")));
            assertThat(g.ids()).as(c.path("prompt").asText()).containsExactly(longs(c.path("generated_ids")));
            assertThat(g.text()).isEqualTo(c.path("generated_text").asText());
            assertThat(deltas.toString()).isEqualTo(g.text());
            assertThat(streamed).hasSize(g.ids().length);
        }
    }

    @Test
    void theTypedAnswerHoldsTheFullTextAndTheTokenCounts() throws IOException {
        load(RepoZip.of("gpt2-tiny"));
        JsonNode c = expected().path("greedy").get(0);
        Parameters p = parameters(Map.of("max_new_tokens", 12L));
        model.check(text(c.path("prompt").asText()), p);
        Map<String, Output> out = model.infer(text(c.path("prompt").asText()), Set.of(), p);
        assertThat(new String(((Tensor) out.get("generated_text")).bytes().get(0), StandardCharsets.UTF_8))
                .isEqualTo(c.path("prompt").asText() + c.path("generated_text").asText());
        assertThat(((Tensor) out.get("prompt_tokens")).data().order(ByteOrder.LITTLE_ENDIAN).getLong(0))
                .isEqualTo(c.path("prompt_ids").size());
        assertThat(((Tensor) out.get("completion_tokens")).data().order(ByteOrder.LITTLE_ENDIAN).getLong(0))
                .isEqualTo(12);
        Map<String, Output> alone = model.infer(text(c.path("prompt").asText()), Set.of(),
                parameters(Map.of("max_new_tokens", 12L, "return_full_text", false)));
        assertThat(new String(((Tensor) alone.get("generated_text")).bytes().get(0), StandardCharsets.UTF_8))
                .isEqualTo(c.path("generated_text").asText());
    }

    @Test
    void aSeededSampleIsTheSameRunToRunAndDiffersFromGreedy() {
        Generator generator = load(RepoZip.of("gpt2-tiny"));
        Map<String, Object> sampled = Map.of("do_sample", true, "seed", 7L, "temperature", 1.5, "top_k", 50L,
                "top_p", 0.95, "repetition_penalty", 1.1, "max_new_tokens", 16L);
        long[] first = generator.generate("Hello world", "/inputs", generator.settings(parameters(sampled)),
                TokenSink.NONE).ids();
        long[] second = generator.generate("Hello world", "/inputs", generator.settings(parameters(sampled)),
                TokenSink.NONE).ids();
        long[] greedy = generator.generate("Hello world", "/inputs", generator.settings(parameters(Map.of(
                "max_new_tokens", 16L))), TokenSink.NONE).ids();
        assertThat(first).hasSize(16).containsExactly(second);
        assertThat(first).isNotEqualTo(greedy);
    }

    @Test
    void aStopStringEndsTheTextAfterItAndAListenerCanStopTheLoop() throws IOException {
        Generator generator = load(RepoZip.of("gpt2-tiny"));
        JsonNode c = expected().path("greedy").get(0);
        String full = c.path("generated_text").asText(); // " cat cat cat*$ 12$$GB catB"
        Generator.Generation stopped = generator.generate(c.path("prompt").asText(), "/inputs",
                generator.settings(parameters(Map.of("max_new_tokens", 12L, "stop", List.of("*", "zzz")))),
                TokenSink.NONE);
        assertThat(stopped.finish()).isEqualTo(Generator.Finish.STOP);
        assertThat(stopped.text()).isEqualTo(full.substring(0, full.indexOf('*') + 1));
        int[] calls = {0};
        Generator.Generation cancelled = generator.generate(c.path("prompt").asText(), "/inputs",
                generator.settings(parameters(Map.of("max_new_tokens", 12L))), (row, token) -> ++calls[0] < 2);
        assertThat(cancelled.finish()).isEqualTo(Generator.Finish.CANCELLED);
        assertThat(cancelled.ids()).hasSize(2);
    }

    @Test
    void badParametersAreRefusedNamingTheParameter() {
        load(RepoZip.of("gpt2-tiny"));
        for (Map.Entry<String, Object> bad : List.<Map.Entry<String, Object>>of(Map.entry("temperature", 0.0),
                Map.entry("top_p", 1.5), Map.entry("max_new_tokens", 0L), Map.entry("max_new_tokens", 65L),
                Map.entry("top_k", -1L), Map.entry("seed", "x"), Map.entry("do_sample", "yes"),
                Map.entry("stop", List.of("")), Map.entry("beams", 2L))) {
            assertThatThrownBy(() -> model.check(text("Hello"), parameters(Map.of(bad.getKey(), bad.getValue()))))
                    .as(bad.toString()).isInstanceOfSatisfying(ProblemException.class, e -> {
                        assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
                        assertThat(e.errors()).extracting(ProblemException.FieldError::pointer)
                                .containsExactly("/parameters/" + bad.getKey());
                    });
        }
    }

    @Test
    void aPromptOverTheContextIsRefusedNamingTheLimit() {
        load(RepoZip.of("gpt2-tiny"));
        String longPrompt = "the cat sat on the mat. ".repeat(12);
        assertThatThrownBy(() -> model.check(text("Hello", longPrompt), Parameters.NONE))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
                    assertThat(e.getMessage()).contains("context is 64 tokens");
                    assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly("/inputs/1");
                });
    }

    @Test
    void anExportWithoutPastKeyValuesIsRefusedSayingSo() throws IOException {
        byte[] noPast = java.nio.file.Files.readAllBytes(HfFixtures.load().repo("bert-tiny-mlm").resolve("onnx/model.onnx"));
        assertThatThrownBy(() -> load(RepoZip.of("gpt2-tiny").with("gpt2-tiny/onnx/model.onnx", noPast)))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.type().status()).isEqualTo(422);
                    assertThat(e.getMessage()).contains("takes no past key/values");
                });
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
