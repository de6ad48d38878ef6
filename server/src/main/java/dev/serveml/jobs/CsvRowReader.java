package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * RFC 4180 CSV (quoted fields may hold commas, doubled quotes and line breaks; {@code \n},
 * {@code \r\n} or {@code \r} end a record) with the header as its first record. Written here rather
 * than taken from a CSV library because those stop at the first bad quote, where a job must fail
 * that row and read on: a bad record is skipped to the end of its line. Blank lines are skipped.
 */
final class CsvRowReader implements RowReader {
    private final Reader in;
    private final int maxRowChars;
    private final char[] buffer = new char[64 * 1024];
    private int position;
    private int limit;
    private boolean eof;
    private long line = 1; // the line the next character is on
    private final List<String> header;
    private final String headerProblem;

    CsvRowReader(Reader in, int maxRowChars) throws IOException {
        this.in = in;
        this.maxRowChars = maxRowChars;
        List<String> first = List.of();
        String problem = null;
        while (true) {
            Record r = record();
            if (r == null) {
                break;
            }
            if (r.blank()) {
                continue;
            }
            if (r.error == null && r.fields.get(0).startsWith("\uFEFF")) {
                r.fields.set(0, r.fields.get(0).substring(1)); // a byte-order mark some editors write first
            }
            first = r.error == null ? List.copyOf(r.fields) : List.of();
            problem = r.error == null ? null : "line " + r.line + ": " + r.error;
            break;
        }
        this.header = first;
        this.headerProblem = problem;
    }

    @Override
    public Optional<String> headerProblem() {
        return Optional.ofNullable(headerProblem);
    }

    @Override
    public List<String> header() {
        return header;
    }

    @Override
    public Optional<InputRow> next() throws IOException {
        if (header.isEmpty()) {
            return Optional.empty();
        }
        while (true) {
            Record r = record();
            if (r == null) {
                return Optional.empty();
            }
            if (r.blank()) {
                continue;
            }
            if (r.error != null) {
                return Optional.of(new InputRow.Bad(r.line, r.error));
            }
            if (r.fields.size() != header.size()) {
                return Optional.of(new InputRow.Bad(r.line, "the row has " + r.fields.size() + " fields where the "
                        + "header names " + header.size() + " columns"));
            }
            Map<String, JsonNode> values = new LinkedHashMap<>(header.size() * 2);
            for (int i = 0; i < header.size(); i++) {
                values.put(header.get(i), TextNode.valueOf(r.fields.get(i)));
            }
            return Optional.of(new InputRow.Values(r.line, values));
        }
    }

    private record Record(long line, List<String> fields, String error) {
        boolean blank() {
            return error == null && fields.size() == 1 && fields.get(0).isEmpty();
        }
    }

    /** The next record, or null at the end of the file. */
    private Record record() throws IOException {
        int c = read();
        if (c < 0) {
            return null;
        }
        long start = line;
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int chars = 0;
        boolean quoted = false;
        boolean closed = false; // a quoted field's closing quote was seen
        boolean atStart = true;
        while (true) {
            if (c >= 0 && ++chars > maxRowChars) {
                skipLine(c);
                return new Record(start, fields, "the row is longer than " + maxRowChars + " characters");
            }
            if (quoted) {
                if (c < 0) {
                    return new Record(start, fields, "a quoted field is not closed before the end of the file");
                }
                if (c == '"') {
                    int next = peek();
                    if (next == '"') {
                        read();
                        field.append('"');
                    } else {
                        quoted = false;
                        closed = true;
                    }
                } else {
                    newline(c);
                    field.append((char) c);
                }
            } else if (c < 0 || c == '\n' || c == '\r' || c == ',') {
                fields.add(field.toString());
                field.setLength(0);
                if (c != ',') {
                    endOfLine(c);
                    return new Record(start, fields, null);
                }
                atStart = true;
                closed = false;
                c = read();
                continue;
            } else if (closed) {
                skipLine(c);
                return new Record(start, fields, "field " + (fields.size() + 1) + " has '" + (char) c
                        + "' after its closing quote; a quoted field ends at a comma or the end of the line");
            } else if (c == '"') {
                if (atStart) {
                    quoted = true;
                } else {
                    skipLine(c);
                    return new Record(start, fields, "field " + (fields.size() + 1) + " has a quote inside it; "
                            + "quote the whole field and double the quote (\"a \"\"b\"\" c\")");
                }
            } else {
                field.append((char) c);
            }
            atStart = false;
            c = read();
        }
    }

    /**
     * Skips to the end of the physical line {@code c} is on. The quotes of a row already found bad
     * cannot be trusted, so they are not followed: the next line is read as a new row.
     */
    private void skipLine(int c) throws IOException {
        while (c >= 0) {
            if (c == '\n' || c == '\r') {
                endOfLine(c);
                return;
            }
            c = read();
        }
    }

    private void endOfLine(int c) throws IOException {
        if (c == '\r' && peek() == '\n') {
            read();
        }
        if (c >= 0) {
            line++;
        }
    }

    /** Counts a line break inside a quoted field ({@code \r\n} once). */
    private void newline(int c) throws IOException {
        if (c == '\n' || (c == '\r' && peek() != '\n')) {
            line++;
        }
    }

    private int read() throws IOException {
        if (position == limit && !fill()) {
            return -1;
        }
        return buffer[position++];
    }

    private int peek() throws IOException {
        if (position == limit && !fill()) {
            return -1;
        }
        return buffer[position];
    }

    private boolean fill() throws IOException {
        if (eof) {
            return false;
        }
        int n = in.read(buffer, 0, buffer.length);
        if (n <= 0) {
            eof = true;
            return false;
        }
        position = 0;
        limit = n;
        return true;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
