package dev.serveml.runtime.text;

import dev.serveml.config.RuntimeConfig;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.Resources;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** How a text model tells the batcher which requests may share a call: by their longest text. */
class TextBatchGroupTest {
    @TempDir
    Path dir;
    private TextModelRuntime runtime;
    private LoadedModel model;

    @BeforeEach
    void open() {
        runtime = new TextModelRuntime(new RuntimeConfig(1, 1, 1000, 16), dir.resolve("run"), 64 << 20);
        Path file = RepoZip.of("bert-tiny-sst2").write(dir.resolve("repo.zip"));
        model = runtime.load(new LoadRequest(file, TextModelRuntime.FORMAT, "repo.zip", "sst2", "sst2 v1",
                Optional.empty(), Resources.DEFAULT));
    }

    @AfterEach
    void close() {
        model.close();
        runtime.close();
    }

    @Test
    void textsOfSimilarLengthShareAGroupAndLongerOnesGetAnother() {
        int shortText = group("I loved it");
        assertThat(group("Not bad at all.")).as("both under 16 bytes").isEqualTo(shortText);
        assertThat(group("The acting was terrible, and the plot was boring.")).isNotEqualTo(shortText).isPositive();
        assertThat(group("x".repeat(100))).isNotEqualTo(group("x".repeat(40)));
    }

    @Test
    void aRequestIsGroupedByItsLongestTextCountedInUtf8Bytes() {
        String longText = "The acting was terrible, and the plot was boring.";
        assertThat(group("hi", longText, "ok")).isEqualTo(group(longText));
        assertThat(group("é".repeat(12))).as("24 bytes, though 12 characters").isEqualTo(group("x".repeat(24)))
                .isNotEqualTo(group("x".repeat(12)));
    }

    @Test
    void textsLongEnoughToBeTruncatedAllShareOneGroup() {
        // the fixture's maximum is 64 tokens: past 8 bytes a token every text is cut to the same length
        assertThat(group("word ".repeat(200))).isEqualTo(group("word ".repeat(2000)));
        assertThat(group("word ".repeat(50))).isNotEqualTo(group("word ".repeat(200)));
    }

    @Test
    void aRowOfSeveralTextsIsGroupedByTheirLengthTogether() {
        // a question and its context, a text and its pair: one sequence of both
        List<Tensor> pair = List.of(Tensor.ofBytes("question", new long[]{2}, List.of(bytes("x".repeat(10)), bytes("q"))),
                Tensor.ofBytes("context", new long[]{2}, List.of(bytes("y".repeat(30)), bytes("c"))));
        assertThat(model.batchGroup(pair, Parameters.NONE)).isEqualTo(group("z".repeat(40)))
                .isNotEqualTo(group("z".repeat(30)));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private int group(String... texts) {
        Tensor t = Tensor.ofBytes("text", new long[]{texts.length},
                Stream.of(texts).map(s -> s.getBytes(StandardCharsets.UTF_8)).toList());
        return model.batchGroup(List.of(t), Parameters.NONE);
    }
}
