package dev.serveml.audit;

import java.time.Instant;

/**
 * A page of the audit log, newest first.
 *
 * @param actorId  only this actor's events (0: everyone's)
 * @param action   only this action, or null
 * @param since    only events at or after, or null
 * @param until    only events before, or null
 * @param beforeId only events older than this id (the previous page's last), or 0
 * @param limit    page size, 1-500
 */
public record AuditQuery(long actorId, String action, Instant since, Instant until, long beforeId, int limit) {
}
