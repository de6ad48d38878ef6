/**
 * What a prediction is made of, independent of protocol and runtime: tensors and their element
 * types, model signatures, the native request shapes turned into tensors, and the service that
 * validates inputs against a signature and runs them on a loaded model off the event loop.
 */
package dev.serveml.inference;
