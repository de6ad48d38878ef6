package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DJL's binding of the Rust tokenizers reads the hand-written tokenizer.json fixtures and gives
 * exactly the encodings that the reference implementation in make_hf_fixtures.py computed: the
 * two were written independently, so agreement checks both the fixture and the binding.
 */
class HuggingFaceTokenizerParityTest {
    private final HfFixtures fixtures = HfFixtures.load();

    @Test
    void wordPieceGivesTheExpectedIdsMasksTypesAndOffsetsForEverySentence() throws IOException {
        assertEveryCase("wordpiece", "singles", 11);
    }

    @Test
    void wordPieceGivesTheExpectedIdsAndTypeIdsForEveryQuestionContextPair() throws IOException {
        assertEveryCase("wordpiece", "pairs", 3);
    }

    @Test
    void byteLevelBpeGivesTheExpectedIdsAndOffsetsForEverySentence() throws IOException {
        assertEveryCase("bpe", "singles", 5);
    }

    @Test
    void everyModelRepositoryLoadsItsTokenizerFromTheDirectoryAsTheHubLaysItOut() throws IOException {
        HfFixtures.Encoded first = fixtures.encodings("wordpiece", "singles").getFirst();
        for (String repo : List.of("bert-tiny-sst2", "bert-tiny-ner", "bert-tiny-squad")) {
            try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(fixtures.repo(repo))) {
                assertThat(tokenizer.encode(first.text()).getIds()).as(repo).containsExactly(first.ids());
            }
        }
    }

    private void assertEveryCase(String kind, String group, int atLeast) throws IOException {
        List<HfFixtures.Encoded> cases = fixtures.encodings(kind, group);
        assertThat(cases).hasSizeGreaterThanOrEqualTo(atLeast);
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(fixtures.tokenizer(kind))) {
            for (HfFixtures.Encoded expected : cases) {
                assertEncoding(expected.textPair() == null ? tokenizer.encode(expected.text())
                        : tokenizer.encode(expected.text(), expected.textPair()), expected);
            }
        }
    }

    private static void assertEncoding(Encoding actual, HfFixtures.Encoded expected) {
        String what = expected.textPair() == null ? expected.text() : expected.text() + " | " + expected.textPair();
        assertThat(actual.getTokens()).as("tokens of %s", what).containsExactlyElementsOf(expected.tokens());
        assertThat(actual.getIds()).as("ids of %s", what).containsExactly(expected.ids());
        assertThat(actual.getAttentionMask()).as("attention mask of %s", what).containsExactly(expected.attentionMask());
        assertThat(actual.getTypeIds()).as("type ids of %s", what).containsExactly(expected.typeIds());
        CharSpan[] spans = actual.getCharTokenSpans();
        long[][] offsets = new long[spans.length][];
        for (int i = 0; i < spans.length; i++) {
            offsets[i] = spans[i] == null ? new long[] {0, 0} : new long[] {spans[i].getStart(), spans[i].getEnd()};
        }
        assertThat(Arrays.deepToString(offsets)).as("offsets of %s", what).isEqualTo(Arrays.deepToString(expected.offsets()));
    }
}
