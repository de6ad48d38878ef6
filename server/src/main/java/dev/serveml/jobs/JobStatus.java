package dev.serveml.jobs;

import java.util.Locale;
import java.util.Optional;

/** Where a job is in its life. */
public enum JobStatus {
    QUEUED, RUNNING, COMPLETED, FAILED, CANCELLING, CANCELLED;

    /** The name the API and the database use: {@code queued}, {@code running}, ... */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the job will change no more: completed, failed or cancelled. */
    public boolean finished() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    public static Optional<JobStatus> named(String value) {
        for (JobStatus s : values()) {
            if (s.value().equals(value)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
