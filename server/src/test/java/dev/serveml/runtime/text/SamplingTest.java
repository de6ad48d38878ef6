package dev.serveml.runtime.text;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sampler's filters without sorting the vocabulary: the heap's ranking equals a full sort's
 * (ties by id, top k's ties kept), and draws follow the filtered softmax.
 */
class SamplingTest {
    private static Generator.Settings sample(double temperature, int topK, double topP) {
        return new Generator.Settings(8, true, temperature, topK, topP, 1.0, 1L, List.of(), false, -1, false);
    }

    @Test
    void theHeapRanksTheLikeliestAsAFullSortDoesTiesByIdAndTopKKeepsTheTies() {
        SplittableRandom random = new SplittableRandom(3);
        double[] scores = new double[5000];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = random.nextInt(400) / 10.0; // many ties
        }
        Integer[] all = IntStream.range(0, scores.length).boxed().toArray(Integer[]::new);
        Arrays.sort(all, Comparator.<Integer>comparingDouble(i -> -scores[i]).thenComparingInt(i -> i));
        for (int m : new int[]{1, 7, 64, 4999, 5000}) {
            int[] top = TextGenerator.likeliest(scores, m, false);
            assertThat(top).as("m=" + m).containsExactly(Arrays.stream(all, 0, m).mapToInt(Integer::intValue).toArray());
            int[] tied = TextGenerator.likeliest(scores, m, true);
            double kth = scores[all[m - 1]];
            long expected = Arrays.stream(scores).filter(v -> v >= kth).count();
            assertThat(tied).as("m=" + m + " with ties").hasSize((int) expected);
            assertThat(tied).startsWith(top);
        }
    }

    @Test
    void drawsFollowTheFilteredSoftmax() {
        float[] logits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, -3.0f};
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i]);
            sum += p[i];
        }
        int draws = 40_000;
        SplittableRandom random = new SplittableRandom(11);
        int[] counts = new int[logits.length];
        for (int n = 0; n < draws; n++) {
            counts[(int) TextGenerator.choose(logits, sample(1.0, 0, 1.0), Set.of(), random)]++;
        }
        for (int i = 0; i < p.length; i++) {
            assertThat(counts[i] / (double) draws).as("token " + i).isCloseTo(p[i] / sum,
                    org.assertj.core.data.Offset.offset(0.01));
        }
        // top k 2: only the two likeliest, renormalised
        int[] k2 = new int[logits.length];
        for (int n = 0; n < draws; n++) {
            k2[(int) TextGenerator.choose(logits, sample(1.0, 2, 1.0), Set.of(), random)]++;
        }
        assertThat(k2[0] + k2[1]).isEqualTo(draws);
        assertThat(k2[0] / (double) draws).isCloseTo(p[0] / (p[0] + p[1]), org.assertj.core.data.Offset.offset(0.01));
        // top p 0.8: tokens 0, 1 and 2 make 0.5+0.19+0.11 = 0.80 of the mass (the smallest set reaching it)
        int[] nucleus = new int[logits.length];
        for (int n = 0; n < draws; n++) {
            nucleus[(int) TextGenerator.choose(logits, sample(1.0, 0, 0.8), Set.of(), random)]++;
        }
        double cumulative = 0;
        int within = 0;
        while (cumulative < 0.8) {
            cumulative += p[within++] / sum;
        }
        for (int i = within; i < logits.length; i++) {
            assertThat(nucleus[i]).as("token " + i + " outside the nucleus").isZero();
        }
        assertThat(nucleus[0]).isPositive();
        // a vanishing top p is greedy
        assertThat(TextGenerator.choose(logits, sample(1.0, 0, 1e-9), Set.of(), random)).isZero();
    }

    @Test
    void aNucleusBeyondTheFirstFewTokensWidensUntilItIsReached() {
        float[] flat = new float[1000]; // all equal: top p 0.5 needs 500 tokens, more than the first 64 looked at
        SplittableRandom random = new SplittableRandom(5);
        int highest = 0;
        for (int n = 0; n < 20_000; n++) {
            highest = Math.max(highest, (int) TextGenerator.choose(flat, sample(1.0, 0, 0.5), Set.of(), random));
        }
        assertThat(highest).isBetween(450, 499);
    }
}
