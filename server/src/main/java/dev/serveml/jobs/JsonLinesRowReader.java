package dev.serveml.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.Reader;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** JSON Lines: one object per line; a line that is not one is a bad row, blank lines are skipped. */
final class JsonLinesRowReader implements RowReader {
    private final Reader in;
    private final ObjectMapper json;
    private final int maxRowChars;
    private final char[] buffer = new char[64 * 1024];
    private int position;
    private int limit;
    private boolean eof;
    private long line;

    JsonLinesRowReader(Reader in, ObjectMapper json, int maxRowChars) {
        this.in = in;
        this.json = json;
        this.maxRowChars = maxRowChars;
    }

    @Override
    public Optional<InputRow> next() throws IOException {
        StringBuilder text = new StringBuilder();
        while (true) {
            text.setLength(0);
            boolean tooLong = false;
            int c = read();
            if (c < 0) {
                return Optional.empty();
            }
            line++;
            while (c >= 0 && c != '\n') {
                if (text.length() >= maxRowChars) {
                    tooLong = true;
                } else {
                    text.append((char) c);
                }
                c = read();
            }
            if (tooLong) {
                return Optional.of(new InputRow.Bad(line, "the line is longer than " + maxRowChars + " characters"));
            }
            if (text.toString().isBlank()) {
                continue;
            }
            return Optional.of(row(text.toString()));
        }
    }

    private InputRow row(String text) {
        JsonNode node;
        try {
            node = json.readTree(text);
        } catch (JsonProcessingException e) {
            return new InputRow.Bad(line, "the line is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            return new InputRow.Bad(line, "the line must be a JSON object of column to value");
        }
        return new InputRow.Values(line, fields(node));
    }

    static Map<String, JsonNode> fields(JsonNode object) {
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            fields.put(e.getKey(), e.getValue());
        }
        return fields;
    }

    private int read() throws IOException {
        if (position == limit) {
            if (eof) {
                return -1;
            }
            int n = in.read(buffer, 0, buffer.length);
            if (n <= 0) {
                eof = true;
                return -1;
            }
            position = 0;
            limit = n;
        }
        return buffer[position++];
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
