package dev.serveml.auth;

import java.time.Instant;
import java.util.Set;

/**
 * A stored API key: only its visible prefix and the hash of the whole key are kept.
 *
 * @param rateLimitPerMinute an override of the default rate limit, or null
 * @param dailyQuota         requests allowed per UTC day, or null for no quota
 * @param parentId           the key this one was created with, or null when a session token created it;
 *                           revoking the parent revokes this key too
 * @param tokensPerMinute    model tokens (prompt and completion) per minute, or null for no limit
 * @param tokensPerDay       model tokens per UTC day, or null for no quota
 */
public record ApiKey(long id, long userId, String name, String prefix, String keyHash, Set<Scope> scopes,
                     Integer rateLimitPerMinute, Integer dailyQuota, Instant createdAt, Instant expiresAt,
                     Instant revokedAt, Long parentId, Integer tokensPerMinute, Integer tokensPerDay) {
    public ApiKey {
        scopes = Set.copyOf(scopes);
    }

    /** A key that limits requests only. */
    public ApiKey(long id, long userId, String name, String prefix, String keyHash, Set<Scope> scopes,
                  Integer rateLimitPerMinute, Integer dailyQuota, Instant createdAt, Instant expiresAt,
                  Instant revokedAt, Long parentId) {
        this(id, userId, name, prefix, keyHash, scopes, rateLimitPerMinute, dailyQuota, createdAt, expiresAt,
                revokedAt, parentId, null, null);
    }

    public boolean usableAt(Instant now) {
        return revokedAt == null && (expiresAt == null || now.isBefore(expiresAt));
    }
}
