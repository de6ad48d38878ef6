package dev.serveml.registry;

import java.util.Locale;

/** Whether a version can be loaded: set to failed when its environment or its workers fail. */
public enum VersionStatus {
    READY, FAILED;

    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VersionStatus parse(String text) {
        return valueOf(text.toUpperCase(Locale.ROOT));
    }
}
