package dev.serveml.inference;

import dev.serveml.tensor.Signature;

import dev.serveml.runtime.LoadedModel;

/**
 * A loaded model and its queue, with a count of the requests holding it, so that unloading never
 * closes a session under a running or queued call: the close happens when the last lease is
 * returned. Thread-safe.
 */
final class HeldModel {
    private final LoadedModel model;
    private final Batcher batcher;
    private final long memoryBytes;
    private final boolean signatureRegistered;
    private int leases;
    private boolean retired;
    private boolean closed;

    /** @param registered the signature the registry holds for this version */
    HeldModel(LoadedModel model, Batcher batcher, Signature registered) {
        this.model = model;
        this.batcher = batcher;
        this.memoryBytes = model.memoryBytes();
        this.signatureRegistered = model.signature().equals(registered);
    }

    /** Whether the loaded model's signature is the one registered (compared once, at load). */
    boolean signatureRegistered() {
        return signatureRegistered;
    }

    LoadedModel model() {
        return model;
    }

    Batcher batcher() {
        return batcher;
    }

    long memoryBytes() {
        return memoryBytes;
    }

    /** @return false if the model was retired (the caller must look it up again) */
    synchronized boolean tryLease() {
        if (retired) {
            return false;
        }
        leases++;
        return true;
    }

    synchronized int leases() {
        return leases;
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

    /**
     * Retires the model only if nobody holds it, atomically with respect to {@link #tryLease}.
     *
     * @return true if retired: the caller must then {@link #closeModel()} (outside its own locks)
     */
    synchronized boolean retireIfIdle() {
        if (retired || leases > 0) {
            return false;
        }
        retired = true;
        closed = true;
        return true;
    }

    void closeModel() {
        model.close();
    }
}
