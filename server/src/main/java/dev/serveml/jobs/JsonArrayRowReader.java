package dev.serveml.jobs;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * One JSON array of row objects, read element by element with Jackson's streaming parser. An
 * element that is not an object is a bad row; JSON that stops parsing is one bad row at the line
 * it broke on and the end of the file, since nothing after it can be found reliably.
 */
final class JsonArrayRowReader implements RowReader {
    private final JsonParser parser;
    private final int maxRowChars;
    private boolean started;
    private boolean done;

    JsonArrayRowReader(InputStream in, ObjectMapper json, int maxRowChars) throws IOException {
        this.parser = json.getFactory().createParser(in);
        this.maxRowChars = maxRowChars;
    }

    @Override
    public Optional<InputRow> next() throws IOException {
        if (done) {
            return Optional.empty();
        }
        try {
            if (!started) {
                started = true;
                JsonToken first = parser.nextToken();
                if (first == null) {
                    done = true;
                    return Optional.empty();
                }
                if (first != JsonToken.START_ARRAY) {
                    done = true;
                    return Optional.of(new InputRow.Bad(line(), "the file must be one JSON array of row objects, "
                            + "[{\"a\": 1}, ...]; for one object per line use the jsonl format"));
                }
            }
            JsonToken token = parser.nextToken();
            if (token == null || token == JsonToken.END_ARRAY) {
                done = true;
                return Optional.empty();
            }
            long at = line();
            if (token != JsonToken.START_OBJECT) {
                parser.skipChildren();
                return Optional.of(new InputRow.Bad(at, "the row must be a JSON object of column to value"));
            }
            JsonNode row = bounded();
            if (row == null) {
                return Optional.of(new InputRow.Bad(at, "the row is longer than " + maxRowChars + " bytes"));
            }
            return Optional.of(new InputRow.Values(at, JsonLinesRowReader.fields(row)));
        } catch (JsonProcessingException e) {
            done = true;
            return Optional.of(new InputRow.Bad(e.getLocation() == null ? line() : e.getLocation().getLineNr(),
                    "the file is not valid JSON here (" + e.getOriginalMessage() + "); the rows after it were not read"));
        }
    }

    /**
     * The object the parser is at, read token by token so that a row past the bound is never held:
     * its tokens are skipped once it passes, and null is answered.
     */
    private JsonNode bounded() throws IOException {
        long start = offset();
        com.fasterxml.jackson.databind.util.TokenBuffer buffer =
                new com.fasterxml.jackson.databind.util.TokenBuffer(parser);
        buffer.copyCurrentEvent(parser);
        boolean tooLong = false;
        for (int depth = 1; depth > 0; ) {
            JsonToken t = parser.nextToken();
            if (t == null) {
                throw new com.fasterxml.jackson.core.io.JsonEOFException(parser, null, "the file ends inside a row");
            }
            if (t.isStructStart()) {
                depth++;
            } else if (t.isStructEnd()) {
                depth--;
            }
            if (!tooLong && offset() - start > maxRowChars) {
                tooLong = true;
                buffer.close();
            }
            if (!tooLong) {
                buffer.copyCurrentEvent(parser);
            }
        }
        if (tooLong) {
            return null;
        }
        try (JsonParser row = buffer.asParserOnFirstToken()) {
            return row.readValueAsTree();
        }
    }

    /** Where the parser is in the file: bytes read (characters for a parser over text). */
    private long offset() {
        com.fasterxml.jackson.core.JsonLocation at = parser.currentLocation();
        return at.getByteOffset() >= 0 ? at.getByteOffset() : at.getCharOffset();
    }

    private long line() {
        return parser.currentTokenLocation().getLineNr();
    }

    @Override
    public void close() throws IOException {
        parser.close();
    }
}
