package dev.serveml.runtime.text;

import dev.serveml.config.RuntimeConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.Resources;
import dev.serveml.runtime.onnx.OnnxModelRuntime;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class TextModelRuntimeTest {
    private static final byte[] NO_HEAD = new byte[0];
    private final HfFixtures fixtures = HfFixtures.load();

    @TempDir
    Path dir;
    private TextModelRuntime runtime;
    private LoadedModel model;

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
    void aZippedRepositoryIsClaimedByTheTextRuntimeThoughTheOnnxRuntimeWouldTakeItToo() {
        Path zip = RepoZip.of("bert-tiny-sst2").write(dir.resolve("repo.zip"));
        assertThat(runtime.detectFormat("repo.zip", NO_HEAD, zip)).isEqualTo(TextModelRuntime.FORMAT);
        try (OnnxModelRuntime onnx = new OnnxModelRuntime(new RuntimeConfig(1, 1, 1000, 16), dir.resolve("onnx"), 1 << 26)) {
            assertThat(onnx.detectFormat("repo.zip", NO_HEAD, zip)).as("why the text runtime is asked first")
                    .isEqualTo("onnx");
        }
    }

    @Test
    void archivesThatAreNotARepositoryAreLeftToTheOtherRuntimes() {
        Path noTokenizer = RepoZip.of("bert-tiny-sst2").without("bert-tiny-sst2/tokenizer.json")
                .write(dir.resolve("a.zip"));
        Path python = RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/handler.py", new byte[0])
                .write(dir.resolve("b.zip"));
        Path noOnnx = RepoZip.of("bert-tiny-sst2").without("bert-tiny-sst2/onnx/model.onnx")
                .write(dir.resolve("c.zip"));
        assertThat(runtime.detectFormat("a.zip", NO_HEAD, noTokenizer)).isNull();
        assertThat(runtime.detectFormat("b.zip", NO_HEAD, python)).isNull();
        assertThat(runtime.detectFormat("c.zip", NO_HEAD, noOnnx)).isNull();
        assertThat(runtime.detectFormat("model.onnx", NO_HEAD, noOnnx)).isNull();
    }

    @Test
    void aLoadedRepositoryHasATextSignatureItsMetadataAndScoresTheTorchSoftmax() {
        model = load(RepoZip.of("bert-tiny-sst2"));
        assertThat(model.signature().inputs()).singleElement()
                .satisfies(s -> assertThat(s.name()).isEqualTo("text"))
                .satisfies(s -> assertThat(s.datatype()).isEqualTo(DataType.BYTES));
        assertThat(model.batchable()).isTrue();
        assertThat(model.metadata()).containsEntry("task", "text-classification")
                .containsEntry("labels", List.of("NEGATIVE", "POSITIVE")).containsEntry("max_length", 64)
                .containsEntry("tokenizer", "WordPiece").containsEntry("onnx_file", "onnx/model.onnx");

        List<HfFixtures.Reference> references = fixtures.references("bert-tiny-sst2").stream()
                .filter(r -> r.textPair() == null).toList();
        Map<String, Output> answer = model.infer(List.of(texts(references.stream().map(HfFixtures.Reference::text)
                .toArray(String[]::new))), Set.of(), new Parameters(Map.of("top_k", 2L)));
        Tensor labels = (Tensor) answer.get("label");
        Tensor scores = (Tensor) answer.get("score");
        assertThat(labels.shape()).containsExactly(references.size(), 2);
        for (int row = 0; row < references.size(); row++) {
            float[] logits = references.get(row).outputs().getFirst().values();
            double positive = 1 / (1 + Math.exp(logits[0] - logits[1]));
            for (int j = 0; j < 2; j++) {
                String label = new String(labels.bytes().get(row * 2 + j), StandardCharsets.UTF_8);
                double score = scores.data().order(ByteOrder.LITTLE_ENDIAN).getFloat((row * 2 + j) * 4);
                assertThat(score).as("%s of %s", label, references.get(row).text())
                        .isCloseTo(label.equals("POSITIVE") ? positive : 1 - positive, within(1e-4));
            }
        }
        assertThat(((Tensor) model.infer(List.of(texts("I loved this movie!")), Set.of()).get("label")).shape())
                .as("one label without top_k").containsExactly(1, 1);
    }

    @Test
    void badTextsAndParametersAreRefusedBeforeTheyAreQueuedNamingTheField() {
        model = load(RepoZip.of("bert-tiny-sst2"));
        assertField(() -> model.check(List.of(texts("fine", "")), Parameters.NONE), "/inputs/1");
        assertField(() -> model.check(List.of(texts()), Parameters.NONE), "/inputs");
        assertField(() -> model.check(List.of(texts(Collections.nCopies(TextLoadedModel.MAX_TEXTS + 1, "a")
                .toArray(String[]::new))), Parameters.NONE), "/inputs");
        assertField(() -> model.check(List.of(texts("fine")), new Parameters(Map.of("top_p", 0.5))), "/parameters/top_p");
        assertField(() -> model.check(List.of(texts("fine")), new Parameters(Map.of("top_k", 0L))), "/parameters/top_k");
        assertField(() -> model.check(List.of(texts("fine")), new Parameters(Map.of("top_k", "2"))), "/parameters/top_k");
        assertField(() -> model.check(List.of(texts("fine")), new Parameters(Map.of("function_to_apply", "relu"))),
                "/parameters/function_to_apply");
        assertField(() -> model.check(List.of(texts("word ".repeat(100))), new Parameters(Map.of("truncation", false))),
                "/inputs/0");
        assertField(() -> model.check(List.of(Tensor.ofBytes("text", new long[]{1}, List.of(new byte[]{(byte) 0xC3}))),
                Parameters.NONE), "/inputs/0");
        model.check(List.of(texts("fine", "word ".repeat(100))), new Parameters(Map.of("top_k", 5L,
                "function_to_apply", "sigmoid")));
    }

    @Test
    void anExportWhoseExternalDataNamesAFileOutsideTheRepositoryIsRefusedAndLeavesNothing() throws IOException {
        byte[] attack = Files.readAllBytes(Path.of(TextModelRuntimeTest.class.getResource("/fixtures/external_secret.onnx")
                .getPath()));
        assertRefused(RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/onnx/model.onnx", attack),
                ProblemType.INVALID_MODEL, "External data may only name files uploaded with the model");
    }

    @Test
    void aTokenizerJsonThatIsNotATokenizerIsRefusedBeforeTheRustLibraryReadsIt() {
        assertRefused(RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/tokenizer.json",
                "{\"version\": \"1.0\", \"added_tokens\": []}".getBytes(StandardCharsets.UTF_8)),
                ProblemType.INVALID_MODEL, "tokenizer.json is not a Hugging Face tokenizer");
        assertRefused(RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/tokenizer.json",
                "\u0000\u0001 not json".getBytes(StandardCharsets.UTF_8)),
                ProblemType.INVALID_MODEL, "tokenizer.json is not a Hugging Face tokenizer");
        // a JSON object the Rust library cannot build a tokenizer from is refused by it, still as a 422
        assertRefused(RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/tokenizer.json",
                "{\"model\": {\"type\": \"WordPiece\", \"vocab\": 7}}".getBytes(StandardCharsets.UTF_8)),
                ProblemType.INVALID_MODEL, "tokenizer.json could not be read");
    }

    @Test
    void aHugeConfigJsonIsRefusedUnread() {
        byte[] huge = ("{\"architectures\": [\"BertForSequenceClassification\"], \"pad\": \""
                + "x".repeat((int) TextModelRuntime.MAX_JSON_BYTES) + "\"}").getBytes(StandardCharsets.UTF_8);
        assertRefused(RepoZip.of("bert-tiny-sst2").with("bert-tiny-sst2/config.json", huge),
                ProblemType.INVALID_MODEL, "config.json is " + huge.length + " bytes");
    }

    @Test
    void anotherArchitectureOrAnUnknownTaskIsRefusedListingTheSevenServed() throws IOException {
        String config = Files.readString(fixtures.repo("bert-tiny-ner").resolve("config.json"))
                .replace("BertForTokenClassification", "BertForNextSentencePrediction");
        assertRefused(RepoZip.of("bert-tiny-ner").with("bert-tiny-ner/config.json", config.getBytes(StandardCharsets.UTF_8)),
                ProblemType.UNSUPPORTED_MODEL_FORMAT, "BertForNextSentencePrediction is not served; the text runtime "
                        + "serves text-classification, token-classification, feature-extraction, fill-mask, "
                        + "question-answering, zero-shot-classification, text-ranking");
        assertRefused(RepoZip.of("bert-tiny-ner").with("serveml.json", "{\"task\": \"summarization\"}"
                .getBytes(StandardCharsets.UTF_8)), ProblemType.UNSUPPORTED_MODEL_FORMAT, "the task 'summarization' is "
                + "not served; the text runtime serves text-classification, token-classification");
    }

    @Test
    void theTaskComesFromServemlJsonsOverrideThenItsPipelineTagThenTheArchitecture() {
        model = load(RepoZip.of("bert-tiny-ner"));
        assertThat(model.metadata()).containsEntry("task", "token-classification")
                .containsEntry("task_source", "config.json")
                .containsEntry("labels", List.of("O", "B-PER", "I-PER", "B-LOC", "I-LOC"));
        model.close();
        model = load(RepoZip.of("bert-tiny-nli"));
        assertThat(model.metadata()).containsEntry("task", "zero-shot-classification")
                .containsEntry("task_source", "pipeline_tag");
        model.close();
        model = load(RepoZip.of("bert-tiny-nli").with("bert-tiny-nli/serveml.json", ("{\"task\": \"text-classification\", "
                + "\"pipeline_tag\": \"zero-shot-classification\"}").getBytes(StandardCharsets.UTF_8)));
        assertThat(model.metadata()).containsEntry("task", "text-classification")
                .containsEntry("task_source", "serveml.json task")
                .containsEntry("labels", List.of("contradiction", "neutral", "entailment"));
        model.close();
        model = load(RepoZip.of("bert-tiny-nli").without("bert-tiny-nli/serveml.json"));
        assertThat(model.metadata()).as("without a tag an NLI model is the classifier it is, as in HF")
                .containsEntry("task", "text-classification");
        model.close();
        model = load(RepoZip.of("bert-tiny-encoder"));
        assertThat(model.metadata()).containsEntry("task", "feature-extraction").containsEntry("labels", List.of());
        assertThat(model.signature().outputs()).extracting(o -> o.name()).containsExactly("embedding", "prompt_tokens");
        assertThat(model.signature().outputs().getFirst().shape()).containsExactly(-1L, 32L);
        model.close();
        model = load(RepoZip.of("bert-tiny-mlm"));
        assertThat(model.metadata()).containsEntry("task", "fill-mask");
        model.close();
        model = load(RepoZip.of("bert-tiny-squad"));
        assertThat(model.metadata()).containsEntry("task", "question-answering");
        assertThat(model.signature().inputs()).extracting(s -> s.name()).containsExactly("question", "context");
        model.close();
        model = load(RepoZip.of("bert-tiny-rerank"));
        assertThat(model.metadata()).containsEntry("task", "text-ranking");
        assertThat(model.signature().inputs()).extracting(s -> s.name()).containsExactly("text", "text_pair");
    }

    @Test
    void aTaskTheGraphCannotServeIsRefusedSayingWhy() {
        assertRefused(RepoZip.of("bert-tiny-sst2").with("serveml.json", "{\"task\": \"token-classification\"}"
                .getBytes(StandardCharsets.UTF_8)), ProblemType.INVALID_MODEL, "not [batch, tokens, labels], so it "
                + "cannot serve token-classification");
        assertRefused(RepoZip.of("bert-tiny-sst2").with("serveml.json", "{\"task\": \"zero-shot-classification\"}"
                .getBytes(StandardCharsets.UTF_8)), ProblemType.INVALID_MODEL, "no entailment label");
        assertRefused(RepoZip.of("bert-tiny-sst2").with("serveml.json", "{\"task\": \"text-ranking\"}"
                .getBytes(StandardCharsets.UTF_8)), ProblemType.INVALID_MODEL, "one score per pair");
        assertRefused(RepoZip.of("bert-tiny-ner").with("serveml.json", "{\"task\": \"text-classification\"}"
                .getBytes(StandardCharsets.UTF_8)), ProblemType.INVALID_MODEL, "so it cannot serve text-classification");
        assertRefused(RepoZip.of("bert-tiny-sst2").with("serveml.json", "{\"task\": \"question-answering\"}"
                .getBytes(StandardCharsets.UTF_8)), ProblemType.INVALID_MODEL, "start_logits and end_logits");
        assertRefused(RepoZip.of("bert-tiny-sst2").with("serveml.json", ("{\"task\": \"" + "x".repeat(70_000) + "\"}")
                .getBytes(StandardCharsets.UTF_8)), ProblemType.INVALID_MODEL, "serveml.json is");
    }

    private void assertRefused(RepoZip zip, ProblemType type, String detail) {
        assertThatThrownBy(() -> load(zip)).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(type);
            assertThat(e.detail()).contains(detail).doesNotContain(dir.toString());
        });
        assertThat(loadDirectories()).as("the load directory is removed").isEmpty();
    }

    private static void assertField(Runnable call, String pointer) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
            assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly(pointer);
        });
    }

    private LoadedModel load(RepoZip zip) {
        Path file = zip.write(dir.resolve("upload-" + System.nanoTime() + ".zip"));
        return runtime.load(new LoadRequest(file, TextModelRuntime.FORMAT, "repo.zip", "sst2", "sst2 v1",
                Optional.empty(), Resources.DEFAULT));
    }

    private List<Path> loadDirectories() {
        try (Stream<Path> dirs = Files.list(dir.resolve("run"))) {
            return dirs.toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Tensor texts(String... texts) {
        return Tensor.ofBytes("text", new long[]{texts.length},
                Stream.of(texts).map(t -> t.getBytes(StandardCharsets.UTF_8)).toList());
    }
}
