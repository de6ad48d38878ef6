package dev.serveml.runtime.text;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * ONNX Runtime, as ServeML runs it in process, reproduces the torch reference of each exported
 * fixture model (make_hf_fixtures.py) within 1e-4, fed the inputs by their Optimum names.
 */
class OnnxExportParityTest {
    private static final float TOLERANCE = 1e-4f;
    private final HfFixtures fixtures = HfFixtures.load();
    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();

    @Test
    void sequenceClassificationLogitsEqualTorchOnEverySentenceAndPair() throws OrtException {
        assertParity("bert-tiny-sst2", 16);
    }

    @Test
    void tokenClassificationLogitsEqualTorchOnEverySentence() throws OrtException {
        assertParity("bert-tiny-ner", 13);
    }

    @Test
    void questionAnsweringStartAndEndLogitsEqualTorchOnEveryPair() throws OrtException {
        assertParity("bert-tiny-squad", 3);
    }

    @Test
    void everyExportTakesTheOptimumInputNames() throws OrtException {
        for (String repo : List.of("bert-tiny-sst2", "bert-tiny-ner", "bert-tiny-squad")) {
            try (OrtSession session = open(repo)) {
                assertThat(session.getInputNames()).as(repo)
                        .containsExactlyInAnyOrder("input_ids", "attention_mask", "token_type_ids");
            }
        }
    }

    private void assertParity(String repo, int expectedCases) throws OrtException {
        List<HfFixtures.Reference> references = fixtures.references(repo);
        assertThat(references).hasSize(expectedCases);
        try (OrtSession session = open(repo)) {
            for (HfFixtures.Reference reference : references) {
                try (OnnxTensor ids = tensor(reference.inputIds());
                     OnnxTensor mask = tensor(reference.attentionMask());
                     OnnxTensor types = tensor(reference.tokenTypeIds());
                     OrtSession.Result result = session.run(
                             Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
                    for (HfFixtures.Output expected : reference.outputs()) {
                        OnnxTensor actual = (OnnxTensor) result.get(expected.name()).orElseThrow();
                        String what = expected.name() + " of " + reference.text();
                        assertThat(actual.getInfo().getShape()).as("shape of %s", what).containsExactly(expected.shape());
                        FloatBuffer values = actual.getFloatBuffer();
                        float[] got = new float[values.remaining()];
                        values.get(got);
                        assertThat(got).as(what).containsExactly(expected.values(), within(TOLERANCE));
                    }
                }
            }
        }
    }

    private OrtSession open(String repo) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return environment.createSession(fixtures.repo(repo).resolve("onnx/model.onnx").toString(), options);
        }
    }

    private OnnxTensor tensor(long[] row) throws OrtException {
        return OnnxTensor.createTensor(environment, new long[][] {row});
    }
}
