package dev.serveml.imports;

import java.util.List;
import java.util.Optional;

/** Where imports and their events are kept. Blocking; thread-safe. */
public interface ImportStore {
    /** Adds a new import with its first event, in one transaction. */
    ImportEvent insert(HubImport state);

    /** Replaces the import's state and appends the event that says so, in one transaction. */
    ImportEvent record(HubImport state);

    Optional<HubImport> find(String id);

    /** The imports to a model name, newest first. */
    List<HubImport> list(String modelName);

    /** An import's events, oldest first. */
    List<ImportEvent> events(String id);

    /** Imports not ready nor failed: after a start, those a stopped server left running. */
    List<HubImport> unfinished();
}
