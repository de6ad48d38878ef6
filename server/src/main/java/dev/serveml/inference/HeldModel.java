package dev.serveml.inference;

import dev.serveml.runtime.LoadedModel;

/**
 * A loaded model with a count of the calls using it, so that unloading never closes a session
 * under a running call: the close happens when the last lease is returned. Thread-safe.
 */
final class HeldModel {
    private final LoadedModel model;
    private int leases;
    private boolean retired;
    private boolean closed;

    HeldModel(LoadedModel model) {
        this.model = model;
    }

    /** @return the model, or null if it was retired (the caller must look it up again) */
    synchronized LoadedModel lease() {
        if (retired) {
            return null;
        }
        leases++;
        return model;
    }

    void release() {
        boolean close;
        synchronized (this) {
            leases--;
            close = retired && leases == 0 && !closed;
            closed |= close;
        }
        if (close) {
            model.close();
        }
    }

    /** No new leases; closes now if idle, otherwise when the last lease returns. */
    void retire() {
        boolean close;
        synchronized (this) {
            retired = true;
            close = leases == 0 && !closed;
            closed |= close;
        }
        if (close) {
            model.close();
        }
    }
}
