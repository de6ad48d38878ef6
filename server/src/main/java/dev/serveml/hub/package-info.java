/**
 * The Hugging Face Hub client: {@link dev.serveml.hub.HubClient} reads a repository's revision and
 * file listing, picks the files a text model needs ({@link dev.serveml.hub.FileChoice}) and downloads
 * them, pinned to the commit, into the standard Hugging Face cache layout
 * ({@code models--org--name/{blobs,refs,snapshots}}, kept by {@link dev.serveml.hub.HubCache}) so a
 * cache filled by {@code huggingface-cli} is reused and offline mode never connects. Repository ids,
 * revisions and every path the Hub lists are validated before they become URLs or cache paths: a
 * tenant names the repository and the Hub (or whatever answers at its address) names the files, and
 * neither may reach outside the repository's cache folder or make the client ask for another URL.
 */
package dev.serveml.hub;
