package dev.serveml.runtime.text;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The lean tokenization path (ids, mask and type ids straight from Rust) gives what the full one gives. */
class TextEncoderTest {
    private final HfFixtures fixtures = HfFixtures.load();

    @Test
    void theLeanBatchHoldsExactlyTheIdsMaskAndTypesOfTheFullEncodingsTruncatedAlike() throws Exception {
        List<String> texts = new ArrayList<>();
        fixtures.encodings("wordpiece", "singles").forEach(e -> texts.add(e.text()));
        texts.add("a much longer text than the model takes ".repeat(20)); // cut to the model's 64 tokens
        var repo = fixtures.repo("bert-tiny-sst2");
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             TextEncoder encoder = TextEncoder.open(OrtEnvironment.getEnvironment(), repo,
                     repo.resolve("onnx/model.onnx"), options, true)) {
            TextEncoder.Batch lean = encoder.batch(texts);
            TextEncoder.Batch full = TextEncoder.Batch.of(encoder.encode(texts));

            assertThat(lean.rows()).isEqualTo(texts.size());
            assertThat(lean.length()).isEqualTo(full.length()).isEqualTo(64);
            assertThat(lean.ids()).containsExactly(full.ids());
            assertThat(lean.mask()).containsExactly(full.mask());
            assertThat(lean.types()).containsExactly(full.types());
            assertThat(encoder.batch(List.of(texts.getFirst())).ids())
                    .containsExactly(fixtures.encodings("wordpiece", "singles").getFirst().ids());
        }
    }
}
