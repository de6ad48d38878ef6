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
     * Creates the model if it does not exist and inserts its next version, numbered one past the
     * highest ever used. {@code beforeCommit} runs inside the transaction with the new row; if it
     * throws, nothing is written.
     *
     * @throws dev.serveml.problem.ProblemException {@code model-deleted} if the model is soft-deleted
     */
    ModelVersion insertVersion(String modelName, long ownerId, NewVersion version, Consumer<ModelVersion> beforeCommit);

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
