package dev.serveml.registry;

import java.util.Locale;
import java.util.Optional;

/** A version's lifecycle: active ones serve by default, deprecated ones only when named, archived ones never. */
public enum VersionState {
    ACTIVE, DEPRECATED, ARCHIVED;

    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<VersionState> parse(String text) {
        for (VersionState s : values()) {
            if (s.value().equals(text)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
