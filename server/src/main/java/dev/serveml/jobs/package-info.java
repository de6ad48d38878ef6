/**
 * Batch jobs: a whole file scored against a model or deployment through the one way in
 * ({@code Predictor}), read as a stream in chunks, durable and resumable. This first part holds the
 * input side: {@link dev.serveml.jobs.RowReader} reads CSV with a header, JSON Lines and a JSON array
 * of rows one row at a time, giving each bad row its line number and a reason instead of failing the
 * file.
 */
package dev.serveml.jobs;
