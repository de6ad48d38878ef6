package dev.serveml.archfixture.cyclic.b;

import dev.serveml.archfixture.cyclic.a.Caller;

/** The other half of the deliberate cycle: {@code b} calls back into {@code a}. */
public final class Callee {
    public int answer() {
        return 41;
    }

    public Caller back() {
        return new Caller();
    }
}
