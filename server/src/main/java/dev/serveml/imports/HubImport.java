package dev.serveml.imports;

import java.time.Instant;
import java.util.Objects;

/**
 * One import as stored, and as each of its events saw it.
 *
 * @param id                  opaque, unique
 * @param ownerId             the user who asked; only they (and administrators) see it
 * @param source              {@code hf://org/name}
 * @param variant             the ONNX variant asked for ({@code fp32} when none was)
 * @param task                the task the caller asked for, or null (the repository's then)
 * @param commit              the commit the revision resolved to when validated, or null before
 * @param percent             of the bytes to download, never decreasing
 * @param bytesTotal          the chosen files' sizes added up, null before they are known
 * @param rateBytesPerSecond  the download's speed over the last seconds, null when not downloading
 * @param etaSeconds          seconds left at that speed, null when not known
 * @param file                the repository path in transfer, or null
 * @param version             the registered version once ready, else null
 * @param problem             why it failed, else null
 */
public record HubImport(String id, String modelName, Long ownerId, String source, String revision, String variant,
                        String task, String commit, ImportPhase phase, int percent, long bytesDone, Long bytesTotal,
                        Long rateBytesPerSecond, Long etaSeconds, String file, Integer version, ImportProblem problem,
                        Instant createdAt, Instant updatedAt) {
    public HubImport {
        Objects.requireNonNull(id);
        Objects.requireNonNull(modelName);
        Objects.requireNonNull(source);
        Objects.requireNonNull(revision);
        Objects.requireNonNull(variant);
        Objects.requireNonNull(phase);
        Objects.requireNonNull(createdAt);
        Objects.requireNonNull(updatedAt);
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("percent out of range");
        }
    }

    /** In another phase; the transfer figures stop (the bytes stay). */
    HubImport in(ImportPhase next, Instant now) {
        return new HubImport(id, modelName, ownerId, source, revision, variant, task, commit, next,
                next == ImportPhase.DOWNLOADING ? percent : Math.max(percent, next.ordinal() > 1 ? 100 : 0),
                bytesDone, bytesTotal, null, null, next == ImportPhase.DOWNLOADING ? file : null, version, problem,
                createdAt, now);
    }

    /** Downloading, this far. */
    HubImport progress(int atPercent, long done, long total, Long rate, Long eta, String inTransfer, Instant now) {
        return new HubImport(id, modelName, ownerId, source, revision, variant, task, commit, ImportPhase.DOWNLOADING,
                Math.max(percent, atPercent), Math.max(bytesDone, done), total, rate, eta, inTransfer, version,
                problem, createdAt, now);
    }

    HubImport ready(int registered, Instant now) {
        return new HubImport(id, modelName, ownerId, source, revision, variant, task, commit, ImportPhase.READY, 100,
                bytesDone, bytesTotal, null, null, null, registered, null, createdAt, now);
    }

    HubImport failed(ImportProblem why, Instant now) {
        return new HubImport(id, modelName, ownerId, source, revision, variant, task, commit, ImportPhase.FAILED,
                percent, bytesDone, bytesTotal, null, null, null, null, why, createdAt, now);
    }
}
