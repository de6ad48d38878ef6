/**
 * Registration of a version from the Hugging Face Hub: {@link dev.serveml.imports.Imports} checks an
 * import at once (the name, the repository, its files and their size, the quota), then on a bounded
 * pool of its own downloads the files through the Hub client, zips them with {@code serveml.json}
 * as an ordinary repository archive and registers that through the model registry, recording each
 * phase and the download's progress (thinned) as events that watchers stream. The caller's Hub
 * token lives only in memory for the length of the import: never stored, logged or shown.
 */
package dev.serveml.imports;
