package dev.serveml.usage;

import java.util.List;

/** Durable usage counts. Blocking; thread-safe. */
public interface UsageStore {
    /** Adds each row's counts to its slot's (creating it), all or none. */
    void add(List<UsageRow> rows);

    List<UsageRow> query(UsageQuery query);
}
