package dev.serveml.jobs;

import dev.serveml.auth.Principal;

import java.time.Instant;
import java.util.Objects;

/**
 * A job as stored.
 *
 * @param caller      who submitted it: the model is called on their behalf, with their rights and limits
 * @param inputKey    the input file's artifact key
 * @param inputFileId the uploaded file it was submitted with, or null for a file sent with the job
 * @param rowsTotal   the rows of the input, null until the split has read it through
 * @param chunksTotal the input's chunks, null until the split has read it through
 * @param error       why it failed, or null
 * @param revision    bumped on every change
 * @param expiresAt   when retention removes it and its files (set when it finishes)
 */
public record Job(String id, long ownerId, Principal caller, JobSpec spec, Binding binding, String inputKey,
                  String inputFileId, JobStatus status, Long rowsTotal, long rowsDone, long rowsFailed,
                  Integer chunksTotal, JobProblem error, long revision, Instant createdAt, Instant startedAt,
                  Instant finishedAt, Instant expiresAt, Instant updatedAt) {
    public Job {
        Objects.requireNonNull(id);
        Objects.requireNonNull(caller);
        Objects.requireNonNull(spec);
        Objects.requireNonNull(binding);
        Objects.requireNonNull(inputKey);
        Objects.requireNonNull(status);
        Objects.requireNonNull(createdAt);
    }

    /** The artifact key prefix under which the job's own files are. */
    public static String prefix(String id) {
        return "jobs/" + id + "/";
    }
}
