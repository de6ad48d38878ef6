/**
 * The scheduler between a request and a model, independent of protocol and runtime: the native
 * request shapes turned into tensors, the {@link dev.serveml.inference.InferenceService} that
 * validates inputs off the event loop, the memory-budgeted {@link dev.serveml.inference.ModelHost}
 * that loads, leases and evicts versions, and each loaded version's
 * {@link dev.serveml.inference.Batcher} queue with admission control, deadlines and dynamic
 * batching. The values themselves live in {@code dev.serveml.tensor}. No HTTP in here.
 */
package dev.serveml.inference;
