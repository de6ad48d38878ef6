package dev.serveml.runtime.text;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class TextClassifierTest {
    private static final double TOLERANCE = 1e-4;
    private final HfFixtures fixtures = HfFixtures.load();
    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private TextClassifier classifier;

    @TempDir
    Path temp;

    @AfterEach
    void close() {
        if (classifier != null) {
            classifier.close();
        }
    }

    @Test
    void eachSentenceScoresTheSoftmaxOfTheTorchLogitsWithLabelsFromConfig() throws Exception {
        classifier = open(fixtures.repo("bert-tiny-sst2"));
        for (HfFixtures.Reference reference : singles()) {
            List<ScoredLabel> answer = classifier.classify(List.of(reference.text()),
                    new TextClassifier.Parameters(0, null, true)).getFirst();
            double[] expected = softmax(reference.outputs().getFirst().values());
            assertThat(answer).extracting(ScoredLabel::label).containsExactlyInAnyOrder("NEGATIVE", "POSITIVE");
            for (ScoredLabel label : answer) {
                int index = fixtures.labels("bert-tiny-sst2").indexOf(label.label());
                assertThat(label.score()).as("%s of %s", label.label(), reference.text())
                        .isCloseTo(expected[index], within(TOLERANCE));
            }
        }
    }

    @Test
    void aBatchPaddedToItsLongestMemberScoresEachTextAsItScoresAlone() throws Exception {
        classifier = open(fixtures.repo("bert-tiny-sst2"));
        List<HfFixtures.Reference> references = singles();
        List<List<ScoredLabel>> batch = classifier.classify(references.stream().map(HfFixtures.Reference::text).toList(),
                new TextClassifier.Parameters(0, null, true));
        assertThat(batch).hasSize(references.size());
        for (int i = 0; i < references.size(); i++) {
            double[] expected = softmax(references.get(i).outputs().getFirst().values());
            List<String> labels = fixtures.labels("bert-tiny-sst2");
            for (ScoredLabel label : batch.get(i)) {
                assertThat(label.score()).as("%s of %s in the batch", label.label(), references.get(i).text())
                        .isCloseTo(expected[labels.indexOf(label.label())], within(TOLERANCE));
            }
        }
    }

    @Test
    void topKOneAnswersTheBestLabelAndAllLabelsComeBestFirstSummingToOne() throws Exception {
        classifier = open(fixtures.repo("bert-tiny-sst2"));
        String text = "I loved this movie!";
        List<ScoredLabel> all = classifier.classify(List.of(text), new TextClassifier.Parameters(0, null, true)).getFirst();
        List<ScoredLabel> best = classifier.classify(List.of(text), TextClassifier.Parameters.DEFAULT).getFirst();
        assertThat(all).hasSize(2);
        assertThat(all.get(0).score()).isGreaterThanOrEqualTo(all.get(1).score());
        assertThat(all.get(0).score() + all.get(1).score()).isCloseTo(1.0, within(1e-9));
        assertThat(best).containsExactly(all.getFirst());
    }

    @Test
    void aMultiLabelConfigScoresEachLabelWithItsOwnSigmoid() throws Exception {
        Path repo = copyRepo("bert-tiny-sst2");
        Path config = repo.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\\{", "{\"problem_type\": \"multi_label_classification\","));
        classifier = open(repo);
        HfFixtures.Reference reference = singles().getFirst();
        float[] logits = reference.outputs().getFirst().values();
        List<ScoredLabel> answer = classifier.classify(List.of(reference.text()),
                new TextClassifier.Parameters(0, null, true)).getFirst();
        List<String> labels = fixtures.labels("bert-tiny-sst2");
        for (ScoredLabel label : answer) {
            double logit = logits[labels.indexOf(label.label())];
            assertThat(label.score()).isCloseTo(1 / (1 + Math.exp(-logit)), within(TOLERANCE));
        }
        assertThat(answer.get(0).score() + answer.get(1).score()).isNotCloseTo(1.0, within(1e-3));
    }

    @Test
    void aConfigWithoutId2labelNamesTheLabelsAsTransformersDoes() throws Exception {
        Path repo = copyRepo("bert-tiny-sst2");
        Path config = repo.resolve("config.json");
        String text = Files.readString(config)
                .replaceAll("(?s)\"id2label\": \\{.*?\\},", "\"num_labels\": 2,")
                .replaceAll("(?s),\\s*\"label2id\": \\{.*?\\}", "");
        Files.writeString(config, text);
        classifier = open(repo);
        assertThat(classifier.config().labels()).containsExactly("LABEL_0", "LABEL_1");
        assertThat(classifier.classify(List.of("Not bad at all."), new TextClassifier.Parameters(0, null, true))
                .getFirst()).extracting(ScoredLabel::label).containsExactlyInAnyOrder("LABEL_0", "LABEL_1");
    }

    @Test
    void aTextLongerThanTheModelIsTruncatedToItsMaximumOrRefusedWhenTruncationIsOff() throws Exception {
        classifier = open(fixtures.repo("bert-tiny-sst2"));
        assertThat(classifier.config().maxLength()).isEqualTo(64);
        String longText = "the movie was very good and ".repeat(30);
        List<ScoredLabel> answer = classifier.classify(List.of(longText, "Not bad at all."),
                new TextClassifier.Parameters(0, null, true)).getFirst();
        assertThat(answer).hasSize(2);
        assertThatThrownBy(() -> classifier.classify(List.of("Not bad at all.", longText),
                new TextClassifier.Parameters(1, null, false)))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
                    assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly("/inputs/1");
                });
        assertThat(classifier.classify(List.of("Not bad at all."), new TextClassifier.Parameters(1, null, false)))
                .hasSize(1);
    }

    @Test
    void aRepositoryWithoutConfigIsRefusedWithoutNamingItsPath() throws Exception {
        Path repo = copyRepo("bert-tiny-sst2");
        Files.delete(repo.resolve("config.json"));
        assertThatThrownBy(() -> open(repo)).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_MODEL);
            assertThat(e.getMessage()).contains("config.json").doesNotContain(temp.toString());
        });
    }

    private List<HfFixtures.Reference> singles() {
        return fixtures.references("bert-tiny-sst2").stream().filter(r -> r.textPair() == null).toList();
    }

    private TextClassifier open(Path repo) throws Exception {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            return TextClassifier.open(environment, repo, repo.resolve("onnx/model.onnx"), options);
        }
    }

    private Path copyRepo(String name) throws IOException {
        Path source = fixtures.repo(name);
        Path target = temp.resolve(name);
        Files.createDirectories(target.resolve("onnx"));
        for (String file : List.of("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "onnx/model.onnx")) {
            Files.copy(source.resolve(file), target.resolve(file));
        }
        return target;
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] out = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            out[i] = Math.exp(logits[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= sum;
        }
        return out;
    }
}
