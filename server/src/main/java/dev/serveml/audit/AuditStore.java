package dev.serveml.audit;

import java.util.List;

/** Durable audit entries. Blocking; thread-safe. */
public interface AuditStore {
    void insert(AuditEntry entry);

    List<AuditEntry> query(AuditQuery query);
}
