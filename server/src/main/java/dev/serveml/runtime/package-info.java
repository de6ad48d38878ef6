/**
 * The seam between ServeML and the engines that execute models: {@link dev.serveml.runtime.ModelRuntime}
 * loads an artifact into a {@link dev.serveml.runtime.LoadedModel}. ONNX Runtime lives in
 * {@code runtime.onnx}; the Python worker runtime and the text runtime implement the same pair.
 */
package dev.serveml.runtime;
