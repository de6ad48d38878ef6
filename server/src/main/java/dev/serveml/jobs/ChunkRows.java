package dev.serveml.jobs;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
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

    static List<InputRow> read(Path file, ObjectMapper json) {
        List<InputRow> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                JsonNode node = json.readTree(line);
                long at = node.get("l").longValue();
                JsonNode bad = node.get("bad");
                if (bad != null) {
                    rows.add(new InputRow.Bad(at, bad.textValue()));
                    continue;
                }
                Map<String, JsonNode> fields = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = node.get("f").fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    fields.put(e.getKey(), e.getValue());
                }
                rows.add(new InputRow.Values(at, fields));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a chunk's rows", e);
        }
        return rows;
    }
}
