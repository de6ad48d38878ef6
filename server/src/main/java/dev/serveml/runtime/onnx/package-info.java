/** ONNX Runtime, in process: the fast path. One {@code OrtSession} per loaded version, shared by all callers. */
package dev.serveml.runtime.onnx;
