package dev.serveml.jobs;

import java.util.Locale;
import java.util.Optional;

/** The shapes of a job's input file. */
public enum InputFormat {
    /** RFC 4180 CSV whose first record names the columns. */
    CSV,
    /** One JSON object per line; blank lines are skipped. */
    JSONL,
    /** One JSON array of objects, a row each. */
    JSON;

    /** The format by its name in a job's spec ({@code csv}, {@code jsonl}, {@code json}), any case. */
    public static Optional<InputFormat> named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "csv" -> Optional.of(CSV);
            case "jsonl", "ndjson" -> Optional.of(JSONL);
            case "json" -> Optional.of(JSON);
            default -> Optional.empty();
        };
    }
}
