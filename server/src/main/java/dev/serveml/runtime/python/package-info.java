/**
 * The Python runtime: supervised worker processes (one model version each, N per version) that
 * unpickle and run scikit-learn, XGBoost, TorchScript models and custom handlers. The wire format
 * ({@link dev.serveml.runtime.python.Frames}) follows {@code serveml_worker/PROTOCOL.md}. Workers,
 * and the venv and pip steps that build a model's environment, run in bubblewrap ({@code Sandbox}:
 * own unprivileged user, no capabilities, no network, only the interpreter, the model, the worker
 * and the virtualenv bound read-only, private /tmp, a seccomp filter, a cleared environment)
 * unless the operator turns that off explicitly. Process pipes are read on platform threads.
 */
package dev.serveml.runtime.python;
