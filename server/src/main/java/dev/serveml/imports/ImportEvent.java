package dev.serveml.imports;

/**
 * One step of an import, as kept in PostgreSQL and streamed to watchers.
 *
 * @param id    increasing per server; a reconnecting watcher skips what it has seen by it
 * @param state the import as it was at this step
 */
public record ImportEvent(long id, HubImport state) {
}
