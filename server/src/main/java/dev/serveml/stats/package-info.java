/**
 * Serving statistics per model and per deployment: a rolling hour of fixed time buckets in
 * memory, each with call, error and cache-hit counts and a log-scale latency histogram, so that
 * any owner (not only admins, who may read {@code /metrics}) sees how their endpoints serve.
 * Recording is lock-free and allocation-free in the common case; memory is bounded by the
 * number of keys and the window.
 */
package dev.serveml.stats;
