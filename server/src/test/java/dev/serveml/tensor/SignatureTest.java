package dev.serveml.tensor;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Putting what a runtime produced into the signature's output order. */
class SignatureTest {
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor("x", DataType.FP32, List.of(-1L, 4L))),
            List.of(TensorSpec.tensor("label", DataType.INT64, List.of(-1L)),
                    TensorSpec.tensor("probabilities", DataType.FP32, List.of(-1L, 3L))));

    private record Made(String name, int n) {
    }

    @Test
    void listedOutputsComeInTheSignaturesOrderWhateverOrderTheyWereProducedIn() {
        Map<String, Made> answer = SIGNATURE.inOutputOrder(
                List.of(new Made("probabilities", 1), new Made("label", 2)), Made::name, Set.of(), false);

        assertThat(answer.keySet()).containsExactly("label", "probabilities");
        assertThat(answer.get("label").n()).isEqualTo(2);
    }

    @Test
    void outputsTheSignatureDoesNotListAreKeptAfterTheListedOnesInTheOrderProducedOnlyWhenAskedTo() {
        List<Made> produced = List.of(new Made("extra_b", 1), new Made("label", 2), new Made("extra_a", 3));

        assertThat(SIGNATURE.inOutputOrder(produced, Made::name, Set.of(), true).keySet())
                .containsExactly("label", "extra_b", "extra_a");
        assertThat(SIGNATURE.inOutputOrder(produced, Made::name, Set.of(), false).keySet())
                .containsExactly("label");
    }

    @Test
    void onlyTheWantedOutputsAreAnsweredListedOrNot() {
        List<Made> produced = List.of(new Made("label", 1), new Made("probabilities", 2), new Made("extra", 3));

        assertThat(SIGNATURE.inOutputOrder(produced, Made::name, Set.of("probabilities", "extra"), true).keySet())
                .containsExactly("probabilities", "extra");
        assertThat(SIGNATURE.inOutputOrder(produced, Made::name, Set.of("label"), true).keySet())
                .containsExactly("label");
    }

    @Test
    void ofTwoOutputsProducedUnderOneNameTheFirstCounts() {
        List<Made> produced = List.of(new Made("label", 1), new Made("extra", 2), new Made("label", 3),
                new Made("extra", 4));

        Map<String, Made> answer = SIGNATURE.inOutputOrder(produced, Made::name, Set.of(), true);

        assertThat(answer.get("label").n()).isEqualTo(1);
        assertThat(answer.get("extra").n()).isEqualTo(2);
    }

    @Test
    void aListedOutputThatWasNotProducedIsLeftOut() {
        assertThat(SIGNATURE.inOutputOrder(List.of(new Made("probabilities", 1)), Made::name, Set.of(), true)
                .keySet()).containsExactly("probabilities");
    }
}
