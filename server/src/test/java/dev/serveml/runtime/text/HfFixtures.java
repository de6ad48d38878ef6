package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face text fixtures (fixtures/hf, built by make_hf_fixtures.py) and what their
 * expected.json says the tokenizers and models must produce.
 */
final class HfFixtures {
    private final Path root;
    private final JsonNode expected;

    private HfFixtures(Path root, JsonNode expected) {
        this.root = root;
        this.expected = expected;
    }

    static HfFixtures load() {
        try {
            Path root = Path.of(HfFixtures.class.getResource("/fixtures/hf/expected.json").toURI()).getParent();
            return new HfFixtures(root, new ObjectMapper().readTree(root.resolve("expected.json").toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Hub-style repository directory: config.json, tokenizer.json, onnx/model.onnx. */
    Path repo(String name) {
        return root.resolve(name);
    }

    Path tokenizer(String kind) {
        return root.resolve(expected.path(kind).path("tokenizer").asText());
    }

    /** The expected encodings of one tokenizer ({@code wordpiece} or {@code bpe}): {@code singles} or {@code pairs}. */
    List<Encoded> encodings(String kind, String group) {
        List<Encoded> out = new ArrayList<>();
        for (JsonNode e : expected.path(kind).path(group)) {
            out.add(new Encoded(e.path("text").asText(), e.hasNonNull("text_pair") ? e.path("text_pair").asText() : null,
                    longs(e.path("ids")), strings(e.path("tokens")), longs(e.path("attention_mask")),
                    longs(e.path("type_ids")), offsets(e.path("offsets"))));
        }
        return out;
    }

    List<String> labels(String model) {
        return strings(expected.path("models").path(model).path("labels"));
    }

    /** The torch reference of one model on each fixture input. */
    List<Reference> references(String model) {
        List<Reference> out = new ArrayList<>();
        for (JsonNode c : expected.path("models").path(model).path("cases")) {
            List<Output> outputs = new ArrayList<>();
            c.path("outputs").properties().forEach(o -> {
                long[] shape = longs(o.getValue().path("shape"));
                JsonNode data = o.getValue().path("data");
                float[] values = new float[data.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) data.get(i).asDouble();
                }
                outputs.add(new Output(o.getKey(), shape, values));
            });
            out.add(new Reference(c.path("text").asText(), c.hasNonNull("text_pair") ? c.path("text_pair").asText() : null,
                    longs(c.path("input_ids")), longs(c.path("attention_mask")), longs(c.path("token_type_ids")),
                    outputs));
        }
        return out;
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static long[][] offsets(JsonNode array) {
        long[][] out = new long[array.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = longs(array.get(i));
        }
        return out;
    }

    /** What the tokenizer must give for a text (and, for a pair, its second text). */
    record Encoded(String text, String textPair, long[] ids, List<String> tokens, long[] attentionMask, long[] typeIds,
                   long[][] offsets) {
    }

    record Output(String name, long[] shape, float[] values) {
    }

    record Reference(String text, String textPair, long[] inputIds, long[] attentionMask, long[] tokenTypeIds,
                     List<Output> outputs) {
    }
}
