/**
 * The audit log: who did what to which resource, from where, and whether it worked; kept in
 * PostgreSQL and read back paged and filtered ({@link dev.serveml.audit.AuditLog}).
 */
package dev.serveml.audit;
