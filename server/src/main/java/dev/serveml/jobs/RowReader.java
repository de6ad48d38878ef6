package dev.serveml.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * Reads a job's input one row at a time, never the whole file: memory is bounded by the longest
 * row allowed. A row that cannot be read becomes an {@link InputRow.Bad} with its line number and
 * the reader goes on at the next row, so a bad row fails that row, never the file. Not
 * thread-safe; blocking (it reads the stream), so run it on a platform thread.
 */
public interface RowReader extends Closeable {

    /** The columns a CSV file's header names (empty for an empty file); empty for the JSON formats. */
    default List<String> header() {
        return List.of();
    }

    /** Why the header could not be read (a CSV header badly quoted or too long), or empty. */
    default Optional<String> headerProblem() {
        return Optional.empty();
    }

    /** The next row, or empty at the end of the file. */
    Optional<InputRow> next() throws IOException;

    /**
     * @param maxRowChars the longest row read (a longer one is a bad row, and reading resumes after it)
     */
    static RowReader open(InputFormat format, InputStream in, ObjectMapper json, int maxRowChars) throws IOException {
        return switch (format) {
            case CSV -> new CsvRowReader(new InputStreamReader(in, StandardCharsets.UTF_8), maxRowChars);
            case JSONL -> new JsonLinesRowReader(new InputStreamReader(in, StandardCharsets.UTF_8), json, maxRowChars);
            case JSON -> new JsonArrayRowReader(in, json, maxRowChars);
        };
    }
}
