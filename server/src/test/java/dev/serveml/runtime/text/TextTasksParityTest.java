package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.config.RuntimeConfig;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.Resources;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Each task's answers equal the torch reference that make_hf_fixtures.py wrote under expected.json
 * "tasks": scores and embeddings within 1e-4, and labels, words, tokens, indexes and character
 * offsets exactly. The reference runs the model in torch and Hugging Face's post-processing in
 * Python; ServeML runs ONNX Runtime and its own, so agreement checks both. Every case is also run
 * in one batch with the task's other cases of the same parameters, padded to the longest.
 */
class TextTasksParityTest {
    private static final double TOLERANCE = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();

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

    @ParameterizedTest
    @ValueSource(strings = {"token-classification", "question-answering", "fill-mask", "zero-shot-classification",
            "text-ranking", "feature-extraction"})
    void everyFixtureCaseAnswersWhatTorchAndHuggingFacesPipelineAnswer(String task) throws IOException {
        JsonNode expected = JSON.readTree(HfFixtures.class.getResource("/fixtures/hf/expected.json")).path("tasks")
                .path(task);
        String name = expected.path("model").asText();
        model = runtime.load(new LoadRequest(RepoZip.of(name).write(dir.resolve(name + ".zip")), TextModelRuntime.FORMAT,
                name + ".zip", name, name + " v1", Optional.empty(), Resources.DEFAULT));
        assertThat(model.metadata()).containsEntry("task", task);
        assertThat(expected.path("cases").size()).isGreaterThanOrEqualTo(2);
        for (JsonNode c : expected.path("cases")) {
            List<Tensor> inputs = inputs(task, c.path("inputs"));
            Parameters parameters = parameters(c.path("parameters"));
            model.check(inputs, parameters);
            JsonNode answer = answer(task, model.infer(inputs, Set.of(), parameters), 0);
            assertEqual(answer, c.path("answer"), task + " " + c.path("inputs") + " " + c.path("parameters"), "");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"token-classification", "fill-mask", "feature-extraction", "question-answering"})
    void aBatchOfCasesPaddedToTheLongestAnswersEachAsItAnswersAlone(String task) throws IOException {
        JsonNode expected = JSON.readTree(HfFixtures.class.getResource("/fixtures/hf/expected.json")).path("tasks")
                .path(task);
        String name = expected.path("model").asText();
        model = runtime.load(new LoadRequest(RepoZip.of(name).write(dir.resolve(name + ".zip")), TextModelRuntime.FORMAT,
                name + ".zip", name, name + " v1", Optional.empty(), Resources.DEFAULT));
        Map<String, List<JsonNode>> byParameters = new LinkedHashMap<>();
        for (JsonNode c : expected.path("cases")) {
            byParameters.computeIfAbsent(c.path("parameters").toString(), k -> new ArrayList<>()).add(c);
        }
        for (List<JsonNode> cases : byParameters.values()) {
            ArrayNode all = JsonNodeFactory.instance.arrayNode();
            cases.forEach(c -> all.add(c.path("inputs")));
            List<Tensor> inputs = inputs(task, all);
            Parameters parameters = parameters(cases.getFirst().path("parameters"));
            Map<String, Output> out = model.infer(inputs, Set.of(), parameters);
            for (int row = 0; row < cases.size(); row++) {
                assertEqual(answer(task, out, row), cases.get(row).path("answer"), task + " in a batch: "
                        + cases.get(row).path("inputs"), "");
            }
        }
    }

    /** Hugging Face's inputs as the model's tensors: a text, a list of them, or objects of named texts. */
    private static List<Tensor> inputs(String task, JsonNode inputs) {
        List<JsonNode> rows = new ArrayList<>();
        if (inputs.isArray()) {
            inputs.forEach(rows::add);
        } else {
            rows.add(inputs);
        }
        Map<String, List<String>> columns = new LinkedHashMap<>();
        for (JsonNode row : rows) {
            if (row.isTextual()) {
                columns.computeIfAbsent("text", k -> new ArrayList<>()).add(row.asText());
            } else if (row.has("query")) {
                for (JsonNode t : row.path("texts")) {
                    columns.computeIfAbsent("text", k -> new ArrayList<>()).add(row.path("query").asText());
                    columns.computeIfAbsent("text_pair", k -> new ArrayList<>()).add(t.asText());
                }
            } else {
                row.properties().forEach(e -> columns.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                        .add(e.getValue().asText()));
            }
        }
        List<Tensor> out = new ArrayList<>();
        columns.forEach((name, values) -> out.add(Tensor.ofBytes(name, new long[]{values.size()},
                values.stream().map(v -> v.getBytes(StandardCharsets.UTF_8)).toList())));
        return out;
    }

    private static Parameters parameters(JsonNode node) {
        Map<String, Object> values = new LinkedHashMap<>();
        node.properties().forEach(e -> {
            JsonNode v = e.getValue();
            Object value;
            if (v.isArray()) {
                List<String> list = new ArrayList<>();
                v.forEach(s -> list.add(s.asText()));
                value = list;
            } else {
                value = v.isTextual() ? v.asText() : v.isBoolean() ? (Object) v.asBoolean()
                        : v.isIntegralNumber() ? (Object) v.asLong() : (Object) v.asDouble();
            }
            values.put(e.getKey(), value);
        });
        return new Parameters(values);
    }

    /** Row {@code row} of the outputs in Hugging Face's answer shape, as the native route writes it. */
    private static JsonNode answer(String task, Map<String, Output> out, int row) throws IOException {
        JsonNodeFactory f = JsonNodeFactory.instance;
        return switch (task) {
            case "token-classification" -> JSON.readTree(((Tensor) out.get("entities")).bytes().get(row));
            case "question-answering", "fill-mask" -> JSON.readTree(((Tensor) out.get("answer")).bytes().get(row));
            case "zero-shot-classification" -> {
                Tensor labels = (Tensor) out.get("labels");
                Tensor scores = (Tensor) out.get("scores");
                int n = (int) labels.shape()[1];
                ObjectNode o = f.objectNode();
                o.put("sequence", new String(((Tensor) out.get("sequence")).bytes().get(row), StandardCharsets.UTF_8));
                ArrayNode l = o.putArray("labels");
                ArrayNode s = o.putArray("scores");
                for (int j = 0; j < n; j++) {
                    l.add(new String(labels.bytes().get(row * n + j), StandardCharsets.UTF_8));
                    s.add(scores.data().order(ByteOrder.LITTLE_ENDIAN).getFloat((row * n + j) * 4));
                }
                yield o;
            }
            case "text-ranking" -> {
                Tensor scores = (Tensor) out.get("score");
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < scores.shape()[0]; i++) {
                    order.add(i);
                }
                order.sort(Collections.reverseOrder((a, b) -> Float.compare(
                        scores.data().order(ByteOrder.LITTLE_ENDIAN).getFloat(a * 4),
                        scores.data().order(ByteOrder.LITTLE_ENDIAN).getFloat(b * 4))));
                ArrayNode a = f.arrayNode();
                for (int i : order) {
                    a.addObject().put("index", i).put("score", scores.data().order(ByteOrder.LITTLE_ENDIAN).getFloat(i * 4));
                }
                yield a;
            }
            case "feature-extraction" -> {
                Tensor e = (Tensor) out.get("embedding");
                int size = (int) e.shape()[1];
                ArrayNode a = f.arrayNode();
                for (int j = 0; j < size; j++) {
                    a.add(e.data().order(ByteOrder.LITTLE_ENDIAN).getFloat((row * size + j) * 4));
                }
                yield a;
            }
            default -> throw new IllegalArgumentException(task);
        };
    }

    /** Whole numbers and strings exactly, other numbers within {@link #TOLERANCE}, the same shape throughout. */
    private static void assertEqual(JsonNode actual, JsonNode expected, String what, String at) {
        if (expected.isNumber() && !expected.isIntegralNumber()) {
            if (!actual.isNumber() || Math.abs(actual.asDouble() - expected.asDouble()) > TOLERANCE) {
                fail("%s at %s: %s, expected %s", what, at, actual, expected);
            }
            return;
        }
        if (expected.isArray() || expected.isObject()) {
            assertThat(actual.getNodeType()).as("%s at %s: %s", what, at, actual).isEqualTo(expected.getNodeType());
            assertThat(actual.size()).as("%s at %s: %s vs %s", what, at, actual, expected).isEqualTo(expected.size());
            if (expected.isArray()) {
                for (int i = 0; i < expected.size(); i++) {
                    assertEqual(actual.get(i), expected.get(i), what, at + "/" + i);
                }
            } else {
                for (Iterator<String> it = expected.fieldNames(); it.hasNext(); ) {
                    String field = it.next();
                    assertThat(actual.has(field)).as("%s at %s: %s has %s", what, at, actual, field).isTrue();
                    assertEqual(actual.get(field), expected.get(field), what, at + "/" + field);
                }
            }
            return;
        }
        if (expected.isIntegralNumber() && actual.isNumber() && !actual.isIntegralNumber()) {
            if (Math.abs(actual.asDouble() - expected.asDouble()) > TOLERANCE) {
                fail("%s at %s: %s, expected %s", what, at, actual, expected);
            }
            return;
        }
        assertThat(actual).as("%s at %s", what, at).isEqualTo(expected);
    }
}
