package dev.serveml.registry;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Durable rows for models and versions. Implementations are thread-safe; every method is
 * blocking and runs in its own transaction.
 */
public interface ModelStore {

    List<Model> listModels(boolean includeDeleted);

    Optional<Model> findModel(String name);

    /**
     * Creates the model (owned by the uploader) if it does not exist and inserts its next version,
     * numbered one past the highest ever used. The owner and the quota are checked in the same
     * transaction, under the model's row lock and the uploader's quota lock, so a concurrent
     * upload cannot slip a version into a model it does not own. {@code beforeCommit} runs inside
     * the transaction with the new row; if it throws, nothing is written.
     *
     * @throws dev.serveml.problem.ProblemException {@code name-taken} if another user owns the model,
     *         {@code model-deleted} if it is soft-deleted, {@code storage-quota-exceeded} past the quota
     */
    ModelVersion insertVersion(String modelName, Uploader uploader, NewVersion version,
                               Consumer<ModelVersion> beforeCommit);

    /**
     * What a user's models hold: the bytes of their distinct artifacts (deleted versions too),
     * and whether one artifact is already among them (storing it again costs nothing).
     */
    StoredBytes storedBytes(long ownerId, String artifactKey);

    /** @param total bytes of distinct artifacts; @param includesKey whether the asked-for artifact is one */
    record StoredBytes(long total, boolean includesKey) {
        /** What storing an artifact of {@code size} bytes would add. */
        public long adding(long size) {
            return includesKey ? 0 : size;
        }
    }

    /** Changes a model's settings in one statement, as {@link ModelSettings} describes. */
    Optional<Model> updateModelSettings(String name, ModelSettings settings);

    List<ModelVersion> listVersions(long modelId, boolean includeDeleted);

    Optional<ModelVersion> findVersion(long modelId, int version);

    /** @return the updated version, or empty when there is no such version */
    Optional<ModelVersion> updateVersionState(long modelId, int version, VersionState state);

    /** Sets whether a version can load, and why not. */
    Optional<ModelVersion> updateVersionStatus(long versionId, VersionStatus status, String message);

    /** Marks a version deleted ({@code deleted = true}) or restores it. */
    Optional<ModelVersion> setVersionDeleted(long modelId, int version, boolean deleted);

    /** Marks a model deleted or restores it; versions keep their own flags. */
    Optional<Model> setModelDeleted(String name, boolean deleted);
}
