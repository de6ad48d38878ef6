package dev.serveml.imports;

import java.util.Locale;

/** Where an import is, in this order; it ends {@link #READY} or {@link #FAILED}. */
public enum ImportPhase {
    VALIDATING, DOWNLOADING, LOADING, PIPELINE, READY, FAILED;

    /** The name the API and the event stream use. */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether nothing follows. */
    public boolean settled() {
        return this == READY || this == FAILED;
    }
}
