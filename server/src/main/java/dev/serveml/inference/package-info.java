/**
 * What a prediction is made of, independent of protocol and runtime: tensors and their element
 * types, model signatures, the native request shapes turned into tensors, and the scheduler between
 * a request and a model: the {@link dev.serveml.inference.InferenceService} that validates inputs
 * off the event loop, the memory-budgeted {@link dev.serveml.inference.ModelHost} that loads, leases
 * and evicts versions, and each loaded version's {@link dev.serveml.inference.Batcher} queue with
 * admission control, deadlines and dynamic batching. No HTTP in here.
 */
package dev.serveml.inference;
