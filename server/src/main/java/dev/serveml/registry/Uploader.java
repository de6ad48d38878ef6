package dev.serveml.registry;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.Locale;

/**
 * Who adds a version, as the store checks it inside the transaction that inserts it: the owner
 * test and the quota are decided under the model's row lock (and the user's quota lock), never
 * from a read made before the slow validation load, so two uploads racing for one name or one
 * quota cannot both win.
 *
 * @param userId     the uploading user; a new model is created as theirs
 * @param anyModel   whether they may add versions to models they do not own (administrators)
 * @param quotaBytes the most bytes of artifacts their models may hold, or {@link Long#MAX_VALUE} for no quota
 */
public record Uploader(long userId, boolean anyModel, long quotaBytes) {
    public Uploader {
        if (quotaBytes <= 0) {
            throw new IllegalArgumentException("quota must be positive");
        }
    }

    public boolean hasQuota() {
        return quotaBytes != Long.MAX_VALUE;
    }

    /** Whether this uploader may add a version to a model owned by {@code ownerId} (null: made before accounts). */
    public boolean mayAddTo(Long ownerId) {
        return anyModel || (ownerId != null && ownerId == userId);
    }

    /** The refusal for a model name held by someone else; it does not say by whom. */
    public static ProblemException nameTaken(String modelName) {
        return new ProblemException(ProblemType.NAME_TAKEN, "the model name '" + modelName
                + "' is not available; choose another");
    }

    /**
     * Refuses the upload when storing {@code adding} more bytes on top of {@code stored} would pass
     * the quota; the detail says how much is used and what the limit is.
     */
    public void requireRoom(long stored, long adding) {
        if (hasQuota() && adding > 0 && stored + adding > quotaBytes) {
            throw new ProblemException(ProblemType.STORAGE_QUOTA_EXCEEDED, "storing this " + size(adding)
                    + " file would take your models to " + size(stored + adding) + ", over your storage quota of "
                    + size(quotaBytes) + " (" + size(stored) + " used; deleted versions count too, as their files"
                    + " are kept so they can be restored); ask an administrator to raise"
                    + " SERVEML_STORAGE_QUOTA_PER_USER");
        }
    }

    /** Bytes for people: 1023 B, 1.5 KiB, 12.0 MiB, 10.0 GiB. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
