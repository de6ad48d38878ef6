/**
 * The text runtime: a Hugging Face Hub repository (config.json, tokenizer.json, an ONNX export,
 * optionally serveml.json) served in process with DJL's binding of the Rust tokenizers and ONNX
 * Runtime, no Python. {@link dev.serveml.runtime.text.TaskChoice} picks the task; each of the seven
 * is a {@link dev.serveml.runtime.text.TextTask} over the shared
 * {@link dev.serveml.runtime.text.TextEncoder}, giving typed outputs from which the native route
 * writes Hugging Face's own answer shapes.
 */
package dev.serveml.runtime.text;
