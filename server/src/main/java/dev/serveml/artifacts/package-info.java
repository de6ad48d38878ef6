/**
 * Where model files live: content-addressed keys ({@code sha256/ab/abcd...ext}) in an
 * {@link dev.serveml.artifacts.ArtifactStore} (the filesystem under the data dir now, S3 later),
 * and {@link dev.serveml.artifacts.StagedUpload}, an upload streamed to a temporary file with its
 * digest and size computed on the way.
 */
package dev.serveml.artifacts;
