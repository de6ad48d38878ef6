/**
 * The text runtime: a Hugging Face Hub repository (config.json, tokenizer.json, an ONNX export)
 * served in process with DJL's binding of the Rust tokenizers and ONNX Runtime, no Python.
 * Each task is a pipeline that gives Hugging Face's own answer shapes. Not yet registered as a
 * {@link dev.serveml.runtime.ModelRuntime} (issue 14).
 */
package dev.serveml.runtime.text;
