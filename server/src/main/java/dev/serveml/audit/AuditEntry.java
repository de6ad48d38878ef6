package dev.serveml.audit;

import java.time.Instant;
import java.util.Map;

/** One audited event. {@code actorId} is 0 for an unknown or anonymous actor. */
public record AuditEntry(long id, Instant at, long actorId, String actor, String ip, String action, String target,
                         String outcome, Map<String, Object> detail) {
}
