/**
 * The Python runtime: supervised worker processes (one model version each, N per version) that
 * unpickle and run scikit-learn, XGBoost, TorchScript models and custom handlers. The wire format
 * ({@link dev.serveml.runtime.python.Frames}) follows {@code serveml_worker/PROTOCOL.md}; workers
 * run sandboxed (no network, read-only files, private /tmp, memory limit) unless the operator
 * turns that off explicitly.
 */
package dev.serveml.runtime.python;
