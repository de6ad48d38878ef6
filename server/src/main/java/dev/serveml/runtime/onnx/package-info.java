/**
 * ONNX Runtime, in process: the fast path. One {@code OrtSession} per loaded version, shared by all
 * callers, created from a private per-load directory holding only that model's files, after
 * {@code ExternalData} has refused any external-data path that leaves it. Answers over the
 * server's element bound are refused before they are copied out of ONNX Runtime.
 */
package dev.serveml.runtime.onnx;
