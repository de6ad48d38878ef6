package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.inference.NativeRequest;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's answer shapes for the text tasks other than classification (which
 * {@link PredictHandler#writeClassification} writes), keyed on the version's metadata.task, from
 * the typed outputs the text runtime gives. One input ({@code "a text"}, or one object of texts)
 * is answered with its row's answer alone; a list with a list of them, as the pipelines do:
 * <ul>
 * <li>token-classification: the {@code entities} row (a list of entities) per text;</li>
 * <li>question-answering, fill-mask: the {@code answer} row per input;</li>
 * <li>feature-extraction: the embedding as a list of floats per text (one text: the vector
 *     itself, as the Inference API answers a sentence-transformers model);</li>
 * <li>zero-shot-classification: {@code {"sequence", "labels", "scores"}} per text;</li>
 * <li>text-ranking: TEI's {@code [{"index", "score"}]} over all the pairs, best first;</li>
 * <li>text-generation: {@code [{"generated_text"}]} per text (a list even for one, as the pipeline
 *     answers; a list of texts gets a list of those).</li>
 * </ul>
 * The rows of BYTES answers are JSON the runtime wrote; they are sent as they are.
 */
final class TextAnswers {
    private TextAnswers() {
    }

    /** Whether {@code outputs} are what the text runtime answers for {@code task}. */
    static boolean serves(String task, Map<String, Output> outputs) {
        return switch (task) {
            case "token-classification" -> rows(outputs, "entities", DataType.BYTES, 1);
            case "question-answering", "fill-mask" -> rows(outputs, "answer", DataType.BYTES, 1);
            case "feature-extraction" -> rows(outputs, "embedding", DataType.FP32, 2);
            case "text-ranking" -> rows(outputs, "score", DataType.FP32, 1);
            case "text-generation" -> rows(outputs, "generated_text", DataType.BYTES, 1);
            case "zero-shot-classification" -> rows(outputs, "sequence", DataType.BYTES, 1)
                    && rows(outputs, "labels", DataType.BYTES, 2) && rows(outputs, "scores", DataType.FP32, 2);
            default -> false;
        };
    }

    private static boolean rows(Map<String, Output> outputs, String name, DataType type, int rank) {
        return outputs.get(name) instanceof Tensor t && t.datatype() == type && t.shape().length == rank;
    }

    static void write(JsonGenerator g, String task, NativeRequest.Texts texts, Map<String, Output> outputs)
            throws IOException {
        if (task.equals("text-ranking")) {
            writeRanking(g, (Tensor) outputs.get("score"));
            return;
        }
        Tensor first = (Tensor) outputs.get(switch (task) {
            case "token-classification" -> "entities";
            case "feature-extraction" -> "embedding";
            case "zero-shot-classification" -> "sequence";
            case "text-generation" -> "generated_text";
            default -> "answer";
        });
        int rows = (int) first.shape()[0];
        boolean list = texts == NativeRequest.Texts.LIST;
        if (list) {
            g.writeStartArray();
        }
        for (int row = 0; row < (list ? rows : Math.min(rows, 1)); row++) {
            switch (task) {
                case "feature-extraction" -> writeFloats(g, first, row);
                case "zero-shot-classification" -> writeZeroShot(g, outputs, row);
                case "text-generation" -> {
                    g.writeStartArray();
                    g.writeStartObject();
                    g.writeStringField("generated_text", new String(first.bytes().get(row), StandardCharsets.UTF_8));
                    g.writeEndObject();
                    g.writeEndArray();
                }
                default -> g.writeRawValue(new String(first.bytes().get(row), StandardCharsets.UTF_8));
            }
        }
        if (list) {
            g.writeEndArray();
        }
    }

    private static void writeFloats(JsonGenerator g, Tensor t, int row) throws IOException {
        int size = (int) t.shape()[1];
        ByteBuffer data = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        g.writeStartArray();
        for (int j = 0; j < size; j++) {
            g.writeNumber(data.getFloat((row * size + j) * Float.BYTES));
        }
        g.writeEndArray();
    }

    private static void writeZeroShot(JsonGenerator g, Map<String, Output> outputs, int row) throws IOException {
        Tensor labels = (Tensor) outputs.get("labels");
        Tensor scores = (Tensor) outputs.get("scores");
        int n = (int) labels.shape()[1];
        ByteBuffer data = scores.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        g.writeStartObject();
        g.writeStringField("sequence", new String(((Tensor) outputs.get("sequence")).bytes().get(row),
                StandardCharsets.UTF_8));
        g.writeArrayFieldStart("labels");
        for (int j = 0; j < n; j++) {
            g.writeString(new String(labels.bytes().get(row * n + j), StandardCharsets.UTF_8));
        }
        g.writeEndArray();
        g.writeArrayFieldStart("scores");
        for (int j = 0; j < n; j++) {
            g.writeNumber(data.getFloat((row * n + j) * Float.BYTES));
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void writeRanking(JsonGenerator g, Tensor scores) throws IOException {
        ByteBuffer data = scores.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < scores.shape()[0]; i++) {
            order.add(i);
        }
        order.sort((a, b) -> Float.compare(data.getFloat(b * Float.BYTES), data.getFloat(a * Float.BYTES)));
        g.writeStartArray();
        for (int i : order) {
            g.writeStartObject();
            g.writeNumberField("index", i);
            g.writeNumberField("score", data.getFloat(i * Float.BYTES));
            g.writeEndObject();
        }
        g.writeEndArray();
    }
}
