package dev.serveml.jobs;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorJson;

import java.io.BufferedWriter;
import java.io.CharArrayWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a chunk's part of a job's result (its rows in input order, pass-through columns first) and
 * of its errors file. The result's parts are served one after another, so a part has no header: the
 * CSV header is {@link #csvHeader}, written once before the first part. Blocking.
 */
final class ResultWriter {
    /** One failed row of the errors file. */
    record Failure(long line, Map<String, JsonNode> passthrough, JobProblem problem) {
    }

    /** A run of rows the model answered, in input order: {@code rows.get(i)} is row {@code i} of every output. */
    record Answered(List<InputRow.Values> rows, Map<String, Output> outputs) {
    }

    private ResultWriter() {
    }

    /** The CSV result's first line, with its line break. */
    static String csvHeader(Binding binding) {
        StringBuilder line = new StringBuilder();
        for (String c : binding.passthrough()) {
            cell(line, c);
        }
        for (String o : binding.outputs()) {
            cell(line, o);
        }
        line.setLength(Math.max(0, line.length() - 1));
        return line.append('\n').toString();
    }

    /** The runs of rows answered, one after another. */
    static void results(Path file, OutputFormat format, Binding binding, List<Answered> answered, ObjectMapper json) {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (Answered a : answered) {
                if (format == OutputFormat.JSONL) {
                    jsonLines(out, binding, a.rows(), a.outputs(), json);
                } else {
                    csv(out, binding, a.rows(), a.outputs(), json);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a chunk's results", e);
        }
    }

    private static void jsonLines(Writer out, Binding binding, List<InputRow.Values> rows, Map<String, Output> outputs,
                                  ObjectMapper json) throws IOException {
        try (JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            // flush() below moves a row into the buffered writer; the file is written as the buffer fills
            g.configure(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM, false);
            g.setRootValueSeparator(null);
            for (int r = 0; r < rows.size(); r++) {
                g.writeStartObject();
                for (String c : binding.passthrough()) {
                    g.writeFieldName(c);
                    JsonNode v = rows.get(r).fields().get(c);
                    if (v == null) {
                        g.writeNull();
                    } else {
                        g.writeTree(v);
                    }
                }
                for (String name : binding.outputs()) {
                    Output o = outputs.get(name);
                    if (o != null) {
                        g.writeFieldName(name);
                        value(g, o, r);
                    }
                }
                g.writeEndObject();
                g.flush();
                out.write('\n');
            }
        }
    }

    private static void csv(Writer out, Binding binding, List<InputRow.Values> rows, Map<String, Output> outputs,
                            ObjectMapper json) throws IOException {
        CharArrayWriter text = new CharArrayWriter(64);
        StringBuilder line = new StringBuilder(128);
        try (JsonGenerator g = json.getFactory().createGenerator(text)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            // flush() below moves a row into the buffered writer; the file is written as the buffer fills
            g.configure(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM, false);
            g.setRootValueSeparator(null);
            for (int r = 0; r < rows.size(); r++) {
                line.setLength(0);
                for (String c : binding.passthrough()) {
                    JsonNode v = rows.get(r).fields().get(c);
                    cell(line, v == null || v.isNull() ? "" : v.isTextual() ? v.textValue() : v.toString());
                }
                for (String name : binding.outputs()) {
                    Output o = outputs.get(name);
                    if (o instanceof Tensor t && t.shape().length == 1 && t.datatype() == DataType.BYTES) {
                        cell(line, new String(t.bytes().get(r), StandardCharsets.UTF_8));
                    } else if (o instanceof Tensor t && t.shape().length == 1 && integral(t.datatype())) {
                        line.append(integer(t, r)).append(',');
                    } else if (o != null) {
                        value(g, o, r);
                        g.flush();
                        cell(line, text.toString());
                        text.reset();
                    } else {
                        line.append(',');
                    }
                }
                line.setLength(line.length() - 1);
                out.append(line).append('\n');
            }
        }
    }

    /** Signed integer types, whose scalars are written as plain numbers without a JSON generator. */
    private static boolean integral(DataType type) {
        return type == DataType.INT8 || type == DataType.INT16 || type == DataType.INT32 || type == DataType.INT64;
    }

    private static long integer(Tensor t, int row) {
        java.nio.ByteBuffer data = t.data().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int at = row * t.datatype().size();
        return switch (t.datatype()) {
            case INT8 -> data.get(at);
            case INT16 -> data.getShort(at);
            case INT32 -> data.getInt(at);
            default -> data.getLong(at);
        };
    }

    private static void value(JsonGenerator g, Output o, int row) throws IOException {
        switch (o) {
            case Tensor t -> TensorJson.writeRow(g, t, row);
            case MapSequence m -> {
                g.writeStartObject();
                for (Map.Entry<String, Double> e : m.rows().get(row).entrySet()) {
                    g.writeNumberField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
        }
    }

    /** Appends one CSV cell and its comma, quoted when it must be (RFC 4180). */
    private static void cell(StringBuilder line, String value) {
        boolean quote = false;
        boolean quotes = false;
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            quotes |= ch == '"';
            quote |= ch == ',' || ch == '"' || ch == '\n' || ch == '\r';
        }
        if (quotes) {
            line.append('"').append(value.replace("\"", "\"\"")).append('"');
        } else if (quote) {
            line.append('"').append(value).append('"');
        } else {
            line.append(value);
        }
        line.append(',');
    }

    /** The failed rows, a JSON object each: line, pass-through values, problem. */
    static void failures(Path file, List<Failure> failures, ObjectMapper json) {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
             JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            // flush() below moves a row into the buffered writer; the file is written as the buffer fills
            g.configure(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM, false);
            g.setRootValueSeparator(null);
            for (Failure f : failures) {
                g.writeStartObject();
                g.writeNumberField("line", f.line());
                g.writeObjectFieldStart("passthrough");
                for (Map.Entry<String, JsonNode> e : f.passthrough().entrySet()) {
                    g.writeFieldName(e.getKey());
                    g.writeTree(e.getValue());
                }
                g.writeEndObject();
                g.writeObjectFieldStart("problem");
                g.writeStringField("type", f.problem().typeUri());
                g.writeStringField("title", f.problem().title());
                g.writeNumberField("status", f.problem().status());
                g.writeStringField("detail", f.problem().detail());
                g.writeStringField("code", f.problem().code());
                g.writeEndObject();
                g.writeEndObject();
                g.flush();
                out.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a chunk's errors", e);
        }
    }
}
