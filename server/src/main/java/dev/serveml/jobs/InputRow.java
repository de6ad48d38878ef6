package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.Objects;

/** One row of a job's input, as read: its values, or why it could not be read. */
public sealed interface InputRow {
    /** The 1-based line of the file the row starts on (a CSV header is line 1). */
    long line();

    /**
     * A row that was read.
     *
     * @param fields the row's values by column, in the file's order: a CSV cell is a text node
     *               (numbers are read against the model's signature later), a JSON value as sent
     */
    record Values(long line, Map<String, JsonNode> fields) implements InputRow {
        public Values {
            Objects.requireNonNull(fields);
        }
    }

    /**
     * A row that could not be read (ragged, badly quoted, not JSON, too long).
     *
     * @param detail what is wrong with it, in words a user can act on
     */
    record Bad(long line, String detail) implements InputRow {
        public Bad {
            Objects.requireNonNull(detail);
        }
    }
}
