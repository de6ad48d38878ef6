/**
 * The values a prediction is made of, shared by every protocol, runtime and the registry: tensors
 * and their element types, named outputs, model signatures, and the JSON form of a tensor. It depends
 * on nothing else of ServeML but {@code problem}, so any package may use it without a cycle.
 */
package dev.serveml.tensor;
