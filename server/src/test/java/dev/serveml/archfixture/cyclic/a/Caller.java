package dev.serveml.archfixture.cyclic.a;

import dev.serveml.archfixture.cyclic.b.Callee;

/** Half of a deliberate package cycle: PackageCyclesTest shows its rule catches one. */
public final class Caller {
    public int call(Callee callee) {
        return callee.answer() + 1;
    }
}
