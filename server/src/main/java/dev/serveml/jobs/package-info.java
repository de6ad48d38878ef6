/**
 * Batch jobs: a whole file scored against a model or deployment through the one way in
 * ({@code Predictor}), read as a stream in chunks, durable and resumable.
 * <ul>
 * <li>{@link dev.serveml.jobs.Jobs}: what callers do (files, submit with the header bound to the
 *     signature by {@link dev.serveml.jobs.Binding}, read, cancel, delete, a result's parts);</li>
 * <li>{@link dev.serveml.jobs.JobRunner}: the workers. A queued job's input is split once into chunk
 *     artifacts; any worker on any replica claims a chunk under a lease, scores it and commits its
 *     output with the job's counters in one transaction ({@link dev.serveml.jobs.JobStore}), so a
 *     killed worker's chunk is taken again from its input and no row is lost or counted twice;</li>
 * <li>{@link dev.serveml.jobs.RowReader}: CSV with a header, JSON Lines and a JSON array of rows, one
 *     row at a time, each bad row with its line number and a reason instead of failing the file.</li>
 * </ul>
 */
package dev.serveml.jobs;
