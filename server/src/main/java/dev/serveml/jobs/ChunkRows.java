package dev.serveml.jobs;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chunk's input rows as the split writes them and a worker reads them back: one JSON object per
 * line, {@code {"l": <line>, "f": {<column>: <value>, ..}}} for a row read, {@code {"l": <line>,
 * "bad": "<why>"}} for one that could not be. Internal to jobs (never served); blocking.
 */
final class ChunkRows {
    private ChunkRows() {
    }

    static void write(Path file, List<InputRow> rows, ObjectMapper json) {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
             JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
            // flush() below moves a row into the buffered writer; the file is written as the buffer fills
            g.configure(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM, false);
            for (InputRow row : rows) {
                g.writeStartObject();
                g.writeNumberField("l", row.line());
                switch (row) {
                    case InputRow.Values v -> {
                        g.writeObjectFieldStart("f");
                        for (Map.Entry<String, JsonNode> e : v.fields().entrySet()) {
                            g.writeFieldName(e.getKey());
                            g.writeTree(e.getValue());
                        }
                        g.writeEndObject();
                    }
                    case InputRow.Bad b -> g.writeStringField("bad", b.detail());
                }
                g.writeEndObject();
                g.flush();
                out.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a chunk's rows", e);
        }
    }

    /** Reads the rows back with the streaming parser: a chunk is read once per try, its rows' values as tree nodes. */
    static List<InputRow> read(Path file, ObjectMapper json) {
        List<InputRow> rows = new ArrayList<>();
        // A value is read as a tree from inside its row: what follows it is not trailing garbage.
        com.fasterxml.jackson.databind.ObjectReader values = json.reader()
                .without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             JsonParser p = json.getFactory().createParser(in)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                rows.add(row(p, values));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a chunk's rows", e);
        }
        return rows;
    }

    /** One row, the parser at its START_OBJECT: {@code "l"} first, then {@code "f"} or {@code "bad"}. */
    private static InputRow row(JsonParser p, com.fasterxml.jackson.databind.ObjectReader values) throws IOException {
        expect(p.nextToken() == JsonToken.FIELD_NAME && "l".equals(p.currentName()) && p.nextToken() != null, p);
        long line = p.getLongValue();
        expect(p.nextToken() == JsonToken.FIELD_NAME, p);
        String kind = p.currentName();
        p.nextToken();
        InputRow row;
        if (kind.equals("bad")) {
            row = new InputRow.Bad(line, p.getText());
        } else {
            expect(kind.equals("f") && p.currentToken() == JsonToken.START_OBJECT, p);
            Map<String, JsonNode> fields = new LinkedHashMap<>();
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                fields.put(name, value == JsonToken.VALUE_STRING ? TextNode.valueOf(p.getText()) : values.readTree(p));
            }
            row = new InputRow.Values(line, fields);
        }
        expect(p.nextToken() == JsonToken.END_OBJECT, p);
        return row;
    }

    private static void expect(boolean ok, JsonParser p) throws IOException {
        if (!ok) {
            throw new IOException("a chunk's rows are not as written, at " + p.currentLocation());
        }
    }
}
