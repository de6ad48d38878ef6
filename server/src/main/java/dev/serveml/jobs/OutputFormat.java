package dev.serveml.jobs;

import java.util.Locale;
import java.util.Optional;

/** The shapes a job's result is written in. */
public enum OutputFormat {
    /** A header (pass-through columns, then the model's outputs), a row per input row. */
    CSV,
    /** One JSON object per row: the pass-through fields and the outputs. */
    JSONL;

    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<OutputFormat> named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "csv" -> Optional.of(CSV);
            case "jsonl", "ndjson" -> Optional.of(JSONL);
            default -> Optional.empty();
        };
    }
}
